/**
 * The registry beside the clusters: one container per host port
 * (`kc-registry-5001` serves `localhost:5001`), shared by every cluster that
 * uses that port, as k3d shares its registries. Each cluster's network gets
 * it at a fixed address, where the nodes' containerd pulls from
 * (components/containerd.ts). Its container goes with the last cluster that
 * uses it; its images stay until `kc delete registry`.
 */
import { createServer } from 'node:net';
import { REGISTRY_IMAGE } from '../../artifacts/manifest.js';
import type { ClusterSpec } from '../../config/types.js';
import { networkName, registryAddress, registryName, type ClusterPlan } from '../../model/plan.js';
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
 * it cannot be removed), and removes its container once no cluster network is
 * left on it. Its images stay on its data volume for the next cluster of that
 * port: a delete and create again need not push everything again (`kc delete
 * registry` removes them). Absent is fine: delete runs twice, or after a failed create.
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


/** A registry as `kc get registries` shows it: its port, whether it runs, the clusters on it, its images' size. */
export interface RegistryView {
  port: number;
  /** `running`, `stopped`, or `data only` (no container: its last cluster is gone, its images kept). */
  status: 'running' | 'stopped' | 'data only';
  /** The clusters whose networks it is on, by name. */
  clusters: string[];
  /** Its data volume's size as the engine reports it; undefined when unknown or there is none. */
  sizeBytes: number | undefined;
  volume: string | undefined;
}

/** The cluster a network kc made belongs to (`kc-dev` → `dev`); undefined for another network. */
function clusterOfNetwork(network: string): string | undefined {
  const prefix = networkName('');
  return network.startsWith(prefix) ? network.slice(prefix.length) : undefined;
}

/** Every registry kc runs or keeps the images of, by port: its container and its data volume together. */
export async function registryViews(engine: Pick<Registries, 'listRegistries' | 'listRegistryData'>): Promise<RegistryView[]> {
  const [containers, data] = [await engine.listRegistries(), await engine.listRegistryData()];
  const ports = [...new Set([...containers.map((c) => c.port), ...data.map((d) => d.port)])].sort((a, b) => a - b);
  return ports.map((port) => {
    const container = containers.find((c) => c.port === port);
    const volume = data.find((d) => d.port === port);
    return {
      port,
      status: container ? (container.running ? 'running' : 'stopped') : 'data only',
      clusters: (container?.networks ?? []).flatMap((n) => clusterOfNetwork(n) ?? []).sort(),
      sizeBytes: volume?.sizeBytes,
      volume: volume?.volume,
    };
  });
}

/**
 * `kc delete registry`: removes the registry of a port (its container, if
 * one is left) and its images. Refused while a cluster uses it: its pods pull
 * from it. Returns what went.
 */
export function deleteRegistry(engine: Pick<Registries, 'listRegistries' | 'listRegistryData' | 'removeRegistry' | 'removeRegistryData'>, port: number): Promise<RegistryView | undefined> {
  return withRegistryLock(port, async () => {
    const view = (await registryViews(engine)).find((r) => r.port === port);
    if (!view) return undefined;
    if (view.clusters.length > 0) {
      const names = view.clusters.join(', ');
      throw new UsageError(
        `the registry on localhost:${port} is used by cluster${view.clusters.length === 1 ? '' : 's'} ${names}: ` +
          `delete ${view.clusters.length === 1 ? 'it' : 'them'} first (kc delete clusters ${names}), or keep the registry`,
      );
    }
    const name = registryName(port);
    await engine.removeRegistry(name);
    await engine.removeRegistryData(name);
    return view;
  });
}
