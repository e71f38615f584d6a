import { certificateKeyCount } from '../../pki/index.js';
import { hostApiServerUrl } from '../kube/api.js';
import type { Networked, Planned, Secured, Step } from './context.js';
import { freeTcpPort } from '../../util/net.js';
import { planCluster } from '../../model/plan.js';
import { saveState, STATE_SCHEMA_VERSION } from '../../state/cluster-state.js';
import { counted } from '../../util/words.js';

/**
 * Lays out the cluster on its network's subnet (fixed node addresses), picks
 * the host port of the API server, and starts generating the PKI (awaited by
 * the next step, before any node exists: nodes boot with their certificates).
 */
export const planNodes: Step<Networked, Pick<Planned, 'plan' | 'pendingPki' | 'apiServerHostPort'>> = {
  title: 'Planning nodes',
  async run(ctx, note) {
    const plan = planCluster(ctx.spec, ctx.nodeSubnet);
    const pendingPki = ctx.generatePki(plan);
    // Awaited by generateCertificates; until then a failure must not surface as an unhandled rejection.
    pendingPki.catch(() => undefined);
    // A concrete port now: "any free port" would be a new one each time the lb restarts.
    const apiServerHostPort = plan.spec.apiServerPort || (await freeTcpPort(plan.spec.apiServerAddress));
    note(`${counted(plan.masters.length, 'master')}, ${counted(plan.workers.length, 'worker')}, lb at ${plan.lb.ip}`);
    return { plan, pendingPki, apiServerHostPort };
  },
};

/** Takes the generated PKI, and records the cluster's state (keys mode 0600). */
export const generateCertificates: Step<Planned, Pick<Secured, 'pki' | 'api'>> = {
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
    return { pki, api: { probe: ctx.apiProbe, server: hostApiServerUrl(plan.spec.apiServerAddress, ctx.apiServerHostPort), pki } };
  },
};
