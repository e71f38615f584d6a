import { generateClusterPki } from '../../pki/cluster-pki.js';
import type { Action } from '../context.js';
import { planCluster } from '../plan.js';
import { saveState } from '../state.js';

/** Lays out the cluster on its network's subnet (fixed node addresses) and generates its PKI. */
export const planAndGeneratePki: Action = {
  title: 'Generating certificates and plan',
  async run(ctx, note) {
    if (!ctx.nodeSubnet) throw new Error('internal: the cluster network has not been created yet');
    ctx.plan = planCluster(ctx.spec, ctx.nodeSubnet);
    ctx.pki = generateClusterPki(ctx.plan);
    await saveState({ plan: ctx.plan, pki: ctx.pki, createdAt: new Date().toISOString(), kubeconfigPath: ctx.kubeconfigPath });
    note(`${ctx.plan.masters.length + ctx.plan.workers.length + 1} nodes`);
  },
};
