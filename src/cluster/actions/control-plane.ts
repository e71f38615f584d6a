import { AFTER_API_SERVER_UNITS } from '../../components/index.js';
import { UNIT } from '../../components/units.js';
import { hostApiServerUrl } from '../api.js';
import type { Secured, Step } from '../context.js';
import { journalTail, startLoadedUnits } from '../node-ops.js';
import { waitUntil } from '../wait.js';
import { counted } from '../../util/words.js';

/**
 * The API servers started with their masters; ready when /readyz answers
 * through the lb (HAProxy, started with the lb, in front of them). Then the
 * controller-manager and the scheduler on every master, which need it ready.
 */
export const startControlPlane: Step<Secured, void> = {
  title: 'Starting control plane',
  async run(ctx, note) {
    const { plan, pki } = ctx;
    const first = plan.masters[0];
    if (!first) throw new Error('internal: no masters');
    const server = hostApiServerUrl(plan.spec.apiServerAddress, ctx.apiServerHostPort);
    await waitUntil(
      `the API server to be ready at ${server}/readyz`,
      async () => {
        const response = await ctx.apiProbe(server, pki, '/readyz');
        return response.status === 200 || `HTTP ${response.status}: ${response.body.split('\n').filter((l) => l.includes('failed')).join('; ')}`;
      },
      {
        deadline: ctx.deadline,
        intervalMs: 250,
        onTimeout: async () => `${await journalTail(ctx.engine, first, UNIT.apiServer)}\n${await journalTail(ctx.engine, plan.lb, UNIT.haproxy, 10)}`,
      },
    );
    await Promise.all(plan.masters.map((master) => startLoadedUnits(ctx.engine, master, AFTER_API_SERVER_UNITS)));
    note(`${counted(plan.masters.length, 'API server')} behind ${server}`);
  },
};
