import { certificateKeyCount } from '../../pki/index.js';
import type { Booted, Networked, Step } from '../context.js';
import type { ClusterPlan } from '../../model/plan.js';
import type { ClusterPki } from '../../pki/types.js';
import { planCluster } from '../../model/plan.js';
import { saveState, STATE_SCHEMA_VERSION } from '../../state/cluster-state.js';

/**
 * Lays out the cluster on its network's subnet (fixed node addresses), and
 * starts generating its PKI in the background: the keys are made on Node's
 * thread pool while the node containers boot.
 */
export const planNodes: Step<Networked, { plan: ClusterPlan; pendingPki: Promise<ClusterPki> }> = {
  title: 'Planning nodes',
  async run(ctx, note) {
    const plan = planCluster(ctx.spec, ctx.nodeSubnet);
    const pendingPki = ctx.generatePki(plan);
    // Awaited by generateCertificates; until then a failure must not surface as an unhandled rejection.
    pendingPki.catch(() => undefined);
    note(`${plan.masters.length} masters, ${plan.workers.length} workers, lb at ${plan.lb.ip}`);
    return { plan, pendingPki };
  },
};

/** Takes the PKI generated during the node boot, and records the cluster's state (keys mode 0600). */
export const generateCertificates: Step<Booted, { pki: ClusterPki }> = {
  title: 'Generating certificates',
  async run(ctx, note) {
    const { plan } = ctx;
    const pki = await ctx.pendingPki;
    // The kubeconfig file is recorded before anything is written to it: a delete after a crash still cleans it.
    await saveState({
      schemaVersion: STATE_SCHEMA_VERSION,
      plan,
      pki,
      apiServerHostPort: ctx.apiServerHostPort,
      kubeconfigPaths: [ctx.kubeconfigPath],
      createdAt: new Date().toISOString(),
    });
    note(`a CA and ${certificateKeyCount(plan) - 1} certificates`);
    return { pki };
  },
};
