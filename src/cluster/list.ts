import { LABEL_CLUSTER, type Provider } from '../provider/provider.js';
import { listStateNames } from '../state/cluster-state.js';

/** Every cluster kc knows of: by container labels, network labels and state folders. */
export async function listClusterNames(engine: Provider): Promise<string[]> {
  const names = new Set<string>(await listStateNames());
  for (const c of await engine.listContainers({ [LABEL_CLUSTER]: '' })) {
    const name = c.labels[LABEL_CLUSTER];
    if (name) names.add(name);
  }
  for (const n of await engine.listNetworks({ [LABEL_CLUSTER]: '' })) {
    const name = n.labels[LABEL_CLUSTER];
    if (name) names.add(name);
  }
  return [...names].sort();
}
