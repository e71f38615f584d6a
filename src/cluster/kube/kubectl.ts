import { execOrThrow, type NodeExec } from '../../provider/provider.js';
import { PATHS } from '../../components/paths.js';
import { API_SERVER_PORT, type ClusterPlan, type NodePlan } from '../../model/plan.js';
import { renderKubeconfig } from '../../pki/kubeconfig.js';
import type { ClusterPki } from '../../pki/types.js';

/** Where kc puts the admin kubeconfig on the first master, to run kubectl there. */
export const ADMIN_KUBECONFIG_ON_NODE = `${PATHS.kubeconfigs}/admin.kubeconfig`;

/** The admin kubeconfig kc puts on the first master: kubectl there talks to that master's own API server. */
export function adminKubeconfigOnNode(plan: ClusterPlan, pki: ClusterPki): string {
  return renderKubeconfig({
    contextName: 'admin',
    clusterName: plan.spec.name,
    userName: 'admin',
    server: `https://127.0.0.1:${API_SERVER_PORT}`,
    caPem: pki.ca.certPem,
    certPem: pki.admin.certPem,
    keyPem: pki.admin.keyPem,
  });
}

/**
 * Runs kubectl as admin on a master (the first, unless `via` names another
 * one that is up), against that master's own API server: the host need not
 * have kubectl.
 */
export function kubectl(engine: NodeExec, plan: ClusterPlan, args: string[], input?: string, via?: NodePlan): Promise<string> {
  const master = via ?? plan.masters[0];
  if (!master) throw new Error('internal: a cluster without masters');
  return execOrThrow(engine, master.name, ['kubectl', '--kubeconfig', ADMIN_KUBECONFIG_ON_NODE, ...args], input);
}

/**
 * Sets each worker's podCIDR to its fixed slice of the pod range (the bridge
 * network routes by it), where `current` says none is set yet: a node's
 * podCIDR can be set once, after its kubelet registered it.
 */
export async function assignPodCidrs(engine: NodeExec, plan: ClusterPlan, workers: readonly NodePlan[], current: ReadonlyMap<string, string>, via?: NodePlan): Promise<void> {
  await Promise.all(
    workers
      .filter((worker) => !current.get(worker.name))
      .map((worker) => {
        const patch = JSON.stringify({ spec: { podCIDR: worker.podSubnet, podCIDRs: [worker.podSubnet] } });
        return kubectl(engine, plan, ['patch', 'node', worker.name, '--type', 'merge', '-p', patch], undefined, via);
      }),
  );
}
