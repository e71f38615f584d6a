import { certificateKeyCount } from '../../pki/index.js';
import { requirePlan, type Action } from '../context.js';
import { planCluster } from '../../model/plan.js';
import { saveState, STATE_SCHEMA_VERSION } from '../../state/cluster-state.js';

/**
 * Lays out the cluster on its network's subnet (fixed node addresses), and
 * starts generating its PKI in the background: the keys are made on Node's
 * thread pool while the node containers boot.
 */
export const planNodes: Action = {
  title: 'Planning nodes',
  async run(ctx, note) {
    if (!ctx.nodeSubnet) throw new Error('internal: the cluster network has not been created yet');
    const plan = planCluster(ctx.spec, ctx.nodeSubnet);
    ctx.plan = plan;
    ctx.pendingPki = ctx.generatePki(plan);
    // Awaited by generateCertificates; until then a failure must not surface as an unhandled rejection.
    ctx.pendingPki.catch(() => undefined);
    note(`${plan.masters.length} masters, ${plan.workers.length} workers, lb at ${plan.lb.ip}`);
  },
};

/** Takes the PKI generated during the node boot, and records the cluster's state (keys mode 0600). */
export const generateCertificates: Action = {
  title: 'Generating certificates',
  async run(ctx, note) {
    const plan = requirePlan(ctx);
    if (!ctx.pendingPki) throw new Error('internal: PKI generation was not started');
    ctx.pki = await ctx.pendingPki;
    // The kubeconfig file is recorded before anything is written to it: a delete after a crash still cleans it.
    await saveState({
      schemaVersion: STATE_SCHEMA_VERSION,
      plan,
      pki: ctx.pki,
      apiServerHostPort: ctx.apiServerHostPort,
      kubeconfigPaths: [ctx.kubeconfigPath],
      createdAt: new Date().toISOString(),
    });
    note(`a CA and ${certificateKeyCount(plan) - 1} certificates`);
  },
};
