import { masterBundle } from '../../components/index.js';
import { apiGet, hostApiServerUrl } from '../api.js';
import { requirePki, requirePlan, waitBudgetMs, type Action } from '../context.js';
import { installBundle, journalTail } from '../node-ops.js';
import { waitUntil } from '../wait.js';

/**
 * kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy and the
 * routes to the pods on every master; ready when /readyz answers through the lb.
 */
export const startControlPlane: Action = {
  title: 'Starting control plane',
  async run(ctx, note) {
    const plan = requirePlan(ctx);
    const pki = requirePki(ctx);
    await Promise.all(
      plan.masters.map(async (master) => {
        await installBundle(ctx, master, masterBundle(plan, master, pki));
      }),
    );
    const server = hostApiServerUrl(plan.spec.apiServerAddress, ctx.apiServerHostPort ?? 0);
    const first = plan.masters[0];
    if (!first) throw new Error('internal: no masters');
    await waitUntil(
      `the API server to be ready at ${server}/readyz`,
      async () => {
        const response = await apiGet(server, pki, '/readyz');
        return response.status === 200 || `HTTP ${response.status}: ${response.body.split('\n').filter((l) => l.includes('failed')).join('; ')}`;
      },
      { timeoutMs: waitBudgetMs(ctx), intervalMs: 500, onTimeout: () => journalTail(ctx.engine, first, 'kube-apiserver.service') },
    );
    note(`${plan.masters.length} API servers behind ${server}`);
  },
};
