import { LABEL_CLUSTER, type EngineSpan, type Networks, type Nodes, type Registries } from '../../provider/provider.js';
import { networkName } from '../../model/plan.js';
import { detachClusterRegistry } from '../registry/registry.js';
import { loadState, removeState, StateFileError, type ClusterState } from '../../state/cluster-state.js';
import { contextName, defaultKubeconfigPath, removeFromKubeconfigFile } from '../../state/kubeconfig-file.js';
import { withClusterLock } from '../../state/lock.js';

/** What delete asks of the engine: find a cluster's resources by label and remove them. */
export type DeleteEngine = Pick<Nodes, 'listNodes' | 'removeNode' | 'listVolumes' | 'removeVolume'> & Pick<Networks, 'listNetworks' | 'removeNetwork'> & Pick<Registries, 'registryState' | 'detachRegistry' | 'removeRegistry'>;

export interface DeleteOptions {
  engine: DeleteEngine;
  /** For a cluster across engines: released once its network is gone (the swarm kc made leaves with the last such cluster). */
  span?: EngineSpan | undefined;
  name: string;
  /** One more kubeconfig file to clean, besides every file the cluster's state recorded. */
  kubeconfigPath?: string;
  /** The registry port of a cluster whose state is not written yet (a create rolling back); else the state says. */
  registryPort?: number;
}

export interface DeleteResult {
  containers: number;
  networks: number;
  volumes: number;
  kubeconfigEntry: boolean;
  state: boolean;
  /** The shared registry: kept for other clusters, removed with this last one, or there was none. */
  registry: 'kept' | 'removed' | 'absent';
  /** What kc could not use but deleted anyway (an unreadable state file): said next to the result. */
  warnings: string[];
}

/**
 * The kubeconfig files to clean: every one the state recorded, and the one
 * the user named. Without state (never written, or unreadable) and without a
 * name, the default file is the best guess.
 */
export function kubeconfigPathsToClean(state: ClusterState | undefined, given: string | undefined): string[] {
  const paths = [...(state?.kubeconfigPaths ?? []), ...(given ? [given] : [])];
  return paths.length > 0 ? [...new Set(paths)] : [defaultKubeconfigPath()];
}

/** Removes every trace of a cluster, found by its labels and state. Deleting twice is fine. */
export async function deleteCluster(options: DeleteOptions): Promise<DeleteResult> {
  return withClusterLock(options.name, () => deleteClusterLocked(options));
}

/** deleteCluster for a caller that already holds the cluster's lock (create, rolling back). */
export async function deleteClusterLocked(options: DeleteOptions): Promise<DeleteResult> {
  const { engine, name } = options;
  const labels = { [LABEL_CLUSTER]: name };
  const warnings: string[] = [];
  let state: ClusterState | undefined;
  let hadState = false;
  try {
    state = await loadState(name);
    hadState = state !== undefined;
  } catch (error) {
    // A state file that cannot be read must not keep the cluster alive: delete is the way out of it.
    if (!(error instanceof StateFileError)) throw error;
    warnings.push(`${error.file} could not be read; removed it with the cluster`);
    hadState = true;
  }
  const [containers, volumes, networks] = await Promise.all([engine.listNodes(labels), engine.listVolumes(labels), engine.listNetworks(labels)]);
  await Promise.all(containers.map((c) => engine.removeNode(c.id)));
  // Off the network first: Docker removes no network a container is still on.
  const registryPort = options.registryPort ?? (state?.plan.spec.addons.registry ? state.plan.spec.registryPort : undefined);
  const registry = registryPort === undefined ? 'absent' : await detachClusterRegistry(engine, registryPort, networkName(name));
  // Once no container uses them, volumes and networks go at once.
  await Promise.all([...volumes.map((v) => engine.removeVolume(v)), ...networks.map((n) => engine.removeNetwork(n.id))]);
  await options.span?.release(networks.map((n) => n.id));
  let kubeconfigEntry = false;
  for (const path of kubeconfigPathsToClean(state, options.kubeconfigPath)) {
    kubeconfigEntry = (await removeFromKubeconfigFile(path, contextName(name))) || kubeconfigEntry;
  }
  await removeState(name);
  return {
    containers: containers.length,
    networks: networks.length,
    volumes: volumes.length,
    kubeconfigEntry,
    state: hadState,
    registry,
    warnings,
  };
}
