import type { ClusterSpec } from '../config/types.js';
import { remoteEnginesInUse } from '../model/engines.js';
import { dockerClientFor, tcpEndpoint } from '../provider/docker/connect.js';
import { DockerEngine } from '../provider/docker/engine.js';
import { MultiEngine } from '../provider/multi/router.js';
import type { EngineSpan, Provider, Registries } from '../provider/provider.js';
import { defaultClusterSpec } from '../config/defaults.js';
import { loadClusterEngines } from '../state/cluster-engines.js';
import { loadState, StateFileError } from '../state/cluster-state.js';
import { localAddressToward } from '../util/net.js';

/**
 * The engines of one cluster as a command uses them: the provider that
 * reaches every node (the pipeline does not know how many engines are
 * behind it), and for a cluster across engines the span that create and
 * delete join and release around the cluster network.
 */
export interface ClusterEngine {
  engine: Provider;
  /** The engine kc runs on, where the shared registry lives. */
  registries: Registries;
  span: EngineSpan | undefined;
}

/** The local engine, or for a cluster whose nodes live on several engines one provider over all of them. */
export function enginesForSpec(spec: ClusterSpec): ClusterEngine {
  const remotes = remoteEnginesInUse(spec);
  const local = new DockerEngine();
  if (remotes.length === 0) return { engine: local, registries: local, span: undefined };
  const multi = new MultiEngine({
    local,
    remotes: remotes.map((engine) => ({
      name: engine.name,
      host: engine.host,
      provider: new DockerEngine(dockerClientFor(engine.host), { name: engine.name, host: engine.host }),
      advertiseAddress: engine.advertiseAddress ?? tcpEndpoint(engine.host)?.host,
    })),
    localAddress: () => localSwarmAddress(remotes),
  });
  return { engine: multi, registries: local, span: multi.span };
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
 * The engines of an existing cluster, from its saved spec, or (for a create
 * that stopped before saving it, or a state that cannot be read) from the
 * engines it recorded first. Only a cluster kc has neither record of is on
 * the local engine: a record kc cannot read is an error, never a guess that
 * would leave nodes on other engines behind.
 */
export async function enginesForCluster(name: string): Promise<ClusterEngine> {
  const state = await loadState(name).catch((error: unknown) => {
    if (error instanceof StateFileError) return undefined; // delete's way out of a broken state: the engines record decides
    throw error;
  });
  if (state) return enginesForSpec(state.plan.spec);
  const engines = await loadClusterEngines(name);
  return enginesForSpec(engines ? { ...defaultClusterSpec({ name }), ...engines } : defaultClusterSpec({ name }));
}

/** The provider alone, for commands that do not make or remove the cluster network. */
export async function engineForCluster(name: string): Promise<Provider> {
  return (await enginesForCluster(name)).engine;
}
