import { LABEL_CLUSTER, type EngineSpan, type Networks, type Nodes, type Registries } from '../../provider/provider.js';
import { networkName } from '../../model/plan.js';
import { awaitAll, concurrently } from '../../util/concurrent.js';
import { messageOf } from '../../util/errors.js';
import { detachClusterRegistry } from '../registry/registry.js';
import { loadState, removeState, saveState, StateFileError, type ClusterState } from '../../state/cluster-state.js';
import { contextName, defaultKubeconfigPath, removeFromKubeconfigFile } from '../../state/kubeconfig-file.js';
import { withClusterLock } from '../../state/lock.js';

/** What delete asks of the engines: find a cluster's resources by label and remove them. */
export type DeleteEngine = Pick<Nodes, 'listNodes' | 'removeNode' | 'listVolumes' | 'removeVolume'> & Pick<Networks, 'listNetworks' | 'removeNetwork'>;

/** What delete asks of the engine kc runs on, where the shared registry lives: which registries are on the cluster's network, and detaching them. */
export type DeleteRegistries = Pick<Registries, 'listRegistries' | 'registryState' | 'detachRegistry' | 'removeRegistry'>;

export interface DeleteOptions {
  engine: DeleteEngine;
  registries: DeleteRegistries;
  /** For a cluster across engines: released once its network is gone (the swarm kc made leaves with the last such cluster). */
  span?: EngineSpan | undefined;
  name: string;
  /** One more kubeconfig file to clean, besides every file the cluster's state recorded. */
  kubeconfigPath?: string | undefined;
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

/**
 * Removes every trace of a cluster, found by what the engines say (the
 * containers, volumes and networks labelled with it; the registries on its
 * network), not by its state alone, which may be unreadable or a step
 * behind. Deleting twice is fine.
 */
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
  // Recorded before anything goes: a delete that stops part-way leaves a state that says so.
  if (state && !state.deleting) await saveState({ ...state, deleting: new Date().toISOString() });
  const [containers, volumes, networks] = await awaitAll([engine.listNodes(labels), engine.listVolumes(labels), engine.listNetworks(labels)]);
  let registry: DeleteResult['registry'];
  let kubeconfigEntry = false;
  try {
    await concurrently(containers, (c) => engine.removeNode(c));
    registry = await detachRegistries(options.registries, networkName(name));
    // Once no container uses them, volumes and networks go at once.
    await awaitAll([concurrently(volumes, (v) => engine.removeVolume(v)), concurrently(networks, (n) => engine.removeNetwork({ name: n.id, engine: n.engine }))]);
    await options.span?.release(networks.map((n) => n.id));
    for (const path of kubeconfigPathsToClean(state, options.kubeconfigPath)) {
      kubeconfigEntry = (await removeFromKubeconfigFile(path, contextName(name))) || kubeconfigEntry;
    }
  } catch (error) {
    throw await deleteStopped(error, engine, name);
  }
  // Last: while anything of the cluster is left, its state says where (its engines, its kubeconfig files).
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

/** A delete that stopped part-way: its cause, what of the cluster is left (as the engine says), and that running it again finishes. */
async function deleteStopped(cause: unknown, engine: DeleteEngine, name: string): Promise<Error> {
  const labels = { [LABEL_CLUSTER]: name };
  const left = await awaitAll([engine.listNodes(labels), engine.listVolumes(labels), engine.listNetworks(labels)]).then(
    ([containers, volumes, networks]) => [...containers.map((c) => c.name), ...volumes.map((v) => `volume ${v.name}`), ...networks.map((n) => `network ${n.name}`)],
    () => undefined,
  );
  const what = left === undefined ? 'kc could not list what is left' : left.length > 0 ? `left: ${left.join(', ')}` : 'no container, volume or network is left; its kubeconfig entries and state are';
  return new Error(`${messageOf(cause)}\nThe delete of cluster "${name}" stopped part-way (${what}): \`kc delete cluster --name ${name}\` again removes the rest.`, { cause });
}

/**
 * Takes every registry on the cluster's network off it (Docker removes no
 * network a container is still on), found by asking the engine: a state
 * that cannot be read, or a create rolling back before it wrote one, says
 * nothing of them. A registry no other cluster uses goes too, and so does
 * one on no cluster's network at all (a create made it and failed before it
 * was attached: under the registry's lock, no create is half-way there).
 */
async function detachRegistries(registries: DeleteRegistries, network: string): Promise<DeleteResult['registry']> {
  const onNoCluster = (networks: readonly string[]) => networks.every((n) => n === 'bridge');
  const attached = (await registries.listRegistries()).filter((r) => r.networks.includes(network) || onNoCluster(r.networks));
  const outcomes = await concurrently(attached, (r) => detachClusterRegistry(registries, r.port, network));
  return outcomes.includes('kept') ? 'kept' : outcomes.includes('removed') ? 'removed' : 'absent';
}
