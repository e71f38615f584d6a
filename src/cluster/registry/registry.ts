/**
 * The registry beside the clusters: one container per host port
 * (`kc-registry-5001` serves `localhost:5001`), shared by every cluster that
 * uses that port, as k3d shares its registries. Each cluster's network gets
 * it at a fixed address, where the nodes' containerd pulls from
 * (components/containerd.ts). It goes with the last cluster that uses it.
 */
import { createServer } from 'node:net';
import { REGISTRY_IMAGE } from '../../artifacts/manifest.js';
import type { ClusterSpec } from '../../config/types.js';
import { registryAddress, registryName, type ClusterPlan } from '../../model/plan.js';
import { LABEL_REGISTRY, type Registries } from '../../provider/provider.js';
import { withRegistryLock } from '../../state/lock.js';
import { UsageError } from '../../util/errors.js';

/** The host address the registry listens on: this machine only. */
export const REGISTRY_HOST_IP = '127.0.0.1';
const REGISTRY_CONTAINER_PORT = 5000;

/** Whether a TCP port can be listened on at host: another registry or program may hold it. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * Before anything is created: the registry of this port exists already (it
 * is shared), or the port is free for it. A taken port is the user's to fix.
 */
export async function checkRegistryPort(
  engine: Pick<Registries, 'registryState'>,
  spec: ClusterSpec,
  isFree: (host: string, port: number) => Promise<boolean> = portIsFree,
): Promise<'shared' | 'new'> {
  const name = registryName(spec.registryPort);
  if (await engine.registryState(name)) return 'shared';
  if (await isFree(REGISTRY_HOST_IP, spec.registryPort)) return 'new';
  throw new UsageError(
    `the registry's port ${spec.registryPort} on ${REGISTRY_HOST_IP} is taken by another program: ` +
      `give another with --registry-port (or registryPort: in the config), or leave the registry out with --disable registry`,
  );
}

/**
 * The registry of the cluster's port, running and on the cluster's network
 * at its fixed address: made when no cluster has made it yet, started when
 * it was stopped. Returns what it did, for the step's note.
 */
export function attachClusterRegistry(engine: Registries, plan: ClusterPlan): Promise<string> {
  return withRegistryLock(plan.spec.registryPort, () => attach(engine, plan));
}

async function attach(engine: Registries, plan: ClusterPlan): Promise<string> {
  const port = plan.spec.registryPort;
  const name = registryName(port);
  const state = await engine.registryState(name);
  if (!state) {
    await engine.createRegistry({
      name,
      image: REGISTRY_IMAGE,
      port: { containerPort: REGISTRY_CONTAINER_PORT, protocol: 'tcp', hostIp: REGISTRY_HOST_IP, hostPort: port },
      labels: { [LABEL_REGISTRY]: String(port) },
    });
  } else if (!state.running) {
    await engine.startRegistry(name);
  }
  await engine.attachRegistry(name, plan.network.name, registryAddress(plan));
  const others = (state?.networks ?? []).filter((n) => n !== plan.network.name && n !== 'bridge').length;
  return `localhost:${port}, ${registryAddress(plan)} on the cluster network${others > 0 ? `, shared with ${others} other cluster${others === 1 ? '' : 's'}` : ''}`;
}

/**
 * Takes the registry off a cluster's network (a network with a container on
 * it cannot be removed), and removes it with its images once no cluster
 * network is left on it. Absent is fine: delete runs twice, or after a failed create.
 */
export function detachClusterRegistry(engine: Pick<Registries, 'registryState' | 'detachRegistry' | 'removeRegistry'>, port: number, network: string): Promise<'kept' | 'removed' | 'absent'> {
  return withRegistryLock(port, () => detach(engine, port, network));
}

async function detach(engine: Pick<Registries, 'registryState' | 'detachRegistry' | 'removeRegistry'>, port: number, network: string): Promise<'kept' | 'removed' | 'absent'> {
  const name = registryName(port);
  const state = await engine.registryState(name);
  if (!state) return 'absent';
  await engine.detachRegistry(name, network);
  const left = state.networks.filter((n) => n !== network && n !== 'bridge');
  if (left.length > 0) return 'kept';
  await engine.removeRegistry(name);
  return 'removed';
}

