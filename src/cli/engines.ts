import type { ClusterSpec } from '../config/types.js';
import { remoteEnginesInUse } from '../model/engines.js';
import { dockerClientFor, tcpEndpoint } from '../provider/docker/connect.js';
import { DockerEngine } from '../provider/docker/engine.js';
import { MultiEngine } from '../provider/multi.js';
import type { Provider } from '../provider/provider.js';
import { defaultClusterSpec } from '../config/defaults.js';
import { loadClusterEngines } from '../state/cluster-engines.js';
import { loadState } from '../state/cluster-state.js';
import { localAddressToward } from '../util/net.js';

/**
 * The provider a cluster's commands use: the local engine, or for a cluster
 * whose nodes live on several engines one provider over all of them (the
 * pipeline does not know the difference).
 */
export function engineForSpec(spec: ClusterSpec): Provider {
  const remotes = remoteEnginesInUse(spec);
  if (remotes.length === 0) return new DockerEngine();
  return new MultiEngine({
    local: new DockerEngine(),
    remotes: remotes.map((engine) => ({
      name: engine.name,
      host: engine.host,
      provider: new DockerEngine(dockerClientFor(engine.host), { name: engine.name, host: engine.host }),
      advertiseAddress: engine.advertiseAddress ?? tcpEndpoint(engine.host)?.host,
    })),
    localAddress: () => localSwarmAddress(remotes),
  });
}

/** Where the remote engines reach this one: the source address toward the first tcp:// engine. */
async function localSwarmAddress(remotes: ClusterSpec['engines']): Promise<string> {
  const endpoint = remotes.map((e) => tcpEndpoint(e.host)).find((e) => e !== undefined);
  if (!endpoint) {
    throw new Error(
      'kc cannot tell which address of this host the other engines reach (none is a tcp:// address): start the swarm yourself (docker swarm init --advertise-addr ADDRESS) and kc uses it',
    );
  }
  return localAddressToward(endpoint.host, endpoint.port);
}

/**
 * The provider for an existing cluster, from its saved spec (or, for a create
 * that stopped before saving it, the engines it recorded first); the local
 * engine when kc has no (readable) record of it.
 */
export async function engineForCluster(name: string): Promise<Provider> {
  const state = await loadState(name).catch(() => undefined);
  if (state) return engineForSpec(state.plan.spec);
  const engines = await loadClusterEngines(name).catch(() => undefined);
  return engines ? engineForSpec({ ...defaultClusterSpec({ name }), ...engines }) : new DockerEngine();
}
