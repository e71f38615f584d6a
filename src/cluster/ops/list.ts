import { LABEL_CLUSTER, type Nodes, type Provider, type Registries } from '../../provider/provider.js';
import { registryName } from '../../model/plan.js';
import { listStateNames, loadState } from '../../state/cluster-state.js';
import { addonStatuses, type AddonStatus } from '../kube/addons.js';
import { hostApiOf } from '../kube/api.js';
import { clusterStatus, containerStatuses, nodeStatus, type ClusterStatus } from './status.js';

/** Every cluster kc knows of: by container labels, network labels and state folders. */
export async function listClusterNames(engine: Provider): Promise<string[]> {
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

/** A cluster as `kc get clusters` shows it. */
export interface ClusterSummary {
  name: string;
  status: ClusterStatus;
  /** Its node containers, on every engine it runs on. */
  nodes: number;
  /** Whether each add-on serves yet; asked of a running cluster only (empty otherwise). */
  addons: AddonStatus[];
}

async function runningAddons(engine: Pick<Registries, 'registryState'>, name: string, status: ClusterStatus): Promise<AddonStatus[]> {
  if (status !== 'running') return [];
  const state = await loadState(name).catch(() => undefined);
  if (!state) return [];
  const inCluster = await addonStatuses(hostApiOf(state), state.plan);
  if (!state.plan.spec.addons.registry) return inCluster;
  const registry = await engine.registryState(registryName(state.plan.spec.registryPort));
  return [...inCluster, { name: 'registry', status: registry?.running ? 'ready' : 'stopped' }];
}

/**
 * Every cluster kc knows of, with its status and node count. Each cluster's
 * nodes are listed through its own provider (`providerFor`: from its saved
 * spec), since a cluster across engines has nodes the local engine does not
 * see: counted there alone, it would look smaller, and running while its
 * remote nodes are stopped.
 */
export async function listClusters(local: Provider, providerFor: (cluster: string) => Promise<Pick<Nodes, 'listNodes'>>): Promise<ClusterSummary[]> {
  const names = await listClusterNames(local);
  return Promise.all(
    names.map(async (name) => {
      const statuses = [...(await containerStatuses(await providerFor(name), name)).values()].map(nodeStatus);
      const status = clusterStatus(statuses);
      return { name, status, nodes: statuses.length, addons: await runningAddons(local, name, status) };
    }),
  );
}
