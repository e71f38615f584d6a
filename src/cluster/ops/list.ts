import { LABEL_CLUSTER, type Networks, type Nodes, type Registries } from '../../provider/provider.js';
import { allNodes, registryName, type NodePlan } from '../../model/plan.js';
import { listStateNames, loadState, type ClusterState } from '../../state/cluster-state.js';
import { concurrently } from '../../util/concurrent.js';
import { addonStatuses, type AddonStatus } from '../kube/addons.js';
import { hostApiOf } from '../kube/api.js';
import { clusterStatus, nodeStatus, type ClusterStatus } from './status.js';

/** Every cluster kc knows of: by container labels, network labels and state folders. */
export async function listClusterNames(engine: Pick<Nodes, 'listNodes'> & Pick<Networks, 'listNetworks'>): Promise<string[]> {
  const names = new Set<string>(await listStateNames());
  for (const c of await engine.listNodes({ [LABEL_CLUSTER]: '' })) {
    const name = c.labels[LABEL_CLUSTER];
    if (name) names.add(name);
  }
  for (const n of await engine.listNetworks({ [LABEL_CLUSTER]: '' })) {
    const name = n.labels[LABEL_CLUSTER];
    if (name) names.add(name);
  }
  return [...names].sort();
}

/** An engine of a cluster that did not answer: its name, why, and the cluster's nodes on it (their status unknown). */
export interface UnreachableEngine {
  engine: string;
  problem: string;
  nodes: string[];
}

/** A cluster as `kc get clusters` shows it. */
export interface ClusterSummary {
  name: string;
  /** From the nodes kc could see; `unknown` when an engine of the cluster did not answer. */
  status: ClusterStatus | 'unknown';
  /** Its node containers, on every engine it runs on (those on an engine that did not answer counted from its state). */
  nodes: number;
  /** Whether each add-on serves yet; asked of a running cluster only (empty otherwise). */
  addons: AddonStatus[];
  /** Engines that did not answer (absent when every one did). */
  unreachable?: UnreachableEngine[];
}

async function runningAddons(registries: Pick<Registries, 'registryState'>, state: ClusterState | undefined, status: ClusterSummary['status']): Promise<AddonStatus[]> {
  if (status !== 'running' || !state) return [];
  const inCluster = await addonStatuses(hostApiOf(state), state.plan);
  if (!state.plan.spec.addons.registry) return inCluster;
  const registry = await registries.registryState(registryName(state.plan.spec.registryPort));
  return [...inCluster, { name: 'registry', status: registry?.running ? 'ready' : 'stopped' }];
}

/** The engine a planned node runs on, in the words of a listing (undefined: the engine kc runs on). */
const engineOf = (node: NodePlan): string | undefined => node.engine;

/** One cluster: its nodes, engine by engine; an engine that does not answer makes its nodes (from the state) unknown, the rest are still counted. */
async function summary(name: string, registries: Pick<Registries, 'registryState'>, engines: Pick<Nodes, 'listNodesByEngine'>): Promise<ClusterSummary> {
  const listings = await engines.listNodesByEngine({ [LABEL_CLUSTER]: name });
  const state = await loadState(name).catch(() => undefined);
  const seen = listings.flatMap((l) => ('nodes' in l ? l.nodes : []));
  const unreachable = listings
    .filter((l) => 'unreachable' in l)
    .map((l) => ({
      engine: l.engine ?? 'local',
      problem: 'unreachable' in l ? l.unreachable : '',
      nodes: state ? allNodes(state.plan).filter((n) => engineOf(n) === l.engine).map((n) => n.name) : [],
    }));
  const statuses = seen.map(nodeStatus);
  const status = unreachable.length > 0 ? 'unknown' : clusterStatus(statuses);
  return {
    name,
    status,
    nodes: seen.length + unreachable.reduce((sum, u) => sum + u.nodes.length, 0),
    addons: await runningAddons(registries, state, status),
    ...(unreachable.length > 0 ? { unreachable } : {}),
  };
}

/**
 * Every cluster kc knows of, with its status and node count. Each cluster's
 * nodes are listed through its own engines (`enginesOf`: from its saved
 * spec), engine by engine: a cluster across engines has nodes the local
 * engine does not see, and one engine that does not answer must not hide
 * the others, nor the other clusters.
 */
export async function listClusters(
  local: Pick<Nodes, 'listNodes'> & Pick<Networks, 'listNetworks'> & Pick<Registries, 'registryState'>,
  enginesOf: (cluster: string) => Promise<Pick<Nodes, 'listNodesByEngine'>>,
): Promise<ClusterSummary[]> {
  const names = await listClusterNames(local);
  return concurrently(names, async (name) => summary(name, local, await enginesOf(name)));
}
