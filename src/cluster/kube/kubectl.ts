import { execOrThrow, type NodeExec } from '../../provider/provider.js';
import { ADMIN_KUBECONFIG_ON_NODE } from '../../components/admin-kubeconfig.js';
import type { ClusterPlan, NodePlan } from '../../model/plan.js';
import { concurrently } from '../../util/concurrent.js';

/**
 * Runs kubectl as admin on a master (the first, unless `via` names another
 * one that is up), against that master's own API server: the host need not
 * have kubectl.
 */
export function kubectl(engine: NodeExec, plan: ClusterPlan, args: string[], input?: string, via?: NodePlan): Promise<string> {
  const master = via ?? plan.masters[0];
  if (!master) throw new Error('internal: a cluster without masters');
  return execOrThrow(engine, master, ['kubectl', '--kubeconfig', ADMIN_KUBECONFIG_ON_NODE, ...args], input);
}

/**
 * Sets each worker's podCIDR to its fixed slice of the pod range (the bridge
 * network routes by it), where `current` says none is set yet: a node's
 * podCIDR can be set once, after its kubelet registered it.
 */
export async function assignPodCidrs(engine: NodeExec, plan: ClusterPlan, workers: readonly NodePlan[], current: ReadonlyMap<string, string>, via?: NodePlan): Promise<void> {
  await concurrently(
    workers.filter((worker) => !current.get(worker.name)),
    (worker) => {
      const patch = JSON.stringify({ spec: { podCIDR: worker.podSubnet, podCIDRs: [worker.podSubnet] } });
      return kubectl(engine, plan, ['patch', 'node', worker.name, '--type', 'merge', '-p', patch], undefined, via);
    },
  );
}
