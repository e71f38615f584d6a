import type { ArchiveEntry } from '../../provider/provider.js';
import { bootBundle } from '../../components/index.js';
import type { ClusterPki } from '../../pki/types.js';
import { allNodes, type ClusterPlan, type NodePlan } from '../../model/plan.js';
import { counted } from '../../util/words.js';
import { ADMIN_KUBECONFIG_ON_NODE, adminKubeconfigOnNode } from '../kube/kubectl.js';
import { createNodeContainer } from '../node/container.js';
import type { CreateBase, Secured, Step } from './context.js';

/**
 * A node of a new cluster boots with all its files in place, and links that
 * start its units with systemd. Masters also get the admin kubeconfig, for
 * kubectl on a master (the pod network, add-ons, node changes): every master
 * has it, so another runs kubectl once the first is gone.
 */
async function bootNode(ctx: CreateBase, plan: ClusterPlan, node: NodePlan, pki: ClusterPki, apiServerHostPort: number): Promise<void> {
  const boot = bootBundle(plan, node, pki);
  const admin = node.role === 'master' ? [{ path: ADMIN_KUBECONFIG_ON_NODE, content: adminKubeconfigOnNode(plan, pki), mode: 0o600 }] : [];
  const files: ArchiveEntry[] = [...boot.files, ...admin, ...boot.links];
  await createNodeContainer(ctx.engine, plan, node, apiServerHostPort, files);
  const atBoot = boot.links.map((link) => link.path.split('/').pop()).join(', ');
  const later = boot.startedLater.length > 0 ? `; later ${boot.startedLater.join(', ')}` : '';
  ctx.progress.detail(`${node.name}: ${counted(boot.files.length + admin.length, 'file')}; starts ${atBoot} as it boots${later}`);
}

/**
 * Creates every node container with all its files in place, and starts them
 * in parallel: each node's systemd starts its components as it boots (etcd
 * members find each other, API servers wait for etcd), so no step waits for a
 * boot, and no call goes into a node before something is to be checked.
 */
export const startNodes: Step<Secured, void> = {
  title: 'Starting nodes',
  async run(ctx, note) {
    const { plan, pki, apiServerHostPort } = ctx;
    // Every create settles before a failure is reported: the rollback lists the cluster's containers, and
    // one still being created then would appear after the listing, be left behind and keep the network in use.
    const results = await Promise.allSettled(allNodes(plan).map((node) => bootNode(ctx, plan, node, pki, apiServerHostPort)));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    note(`${counted(plan.masters.length, 'master')}, ${counted(plan.workers.length, 'worker')}, lb on ${plan.spec.apiServerAddress}:${apiServerHostPort}`);
  },
};
