import { AFTER_API_SERVER_UNITS } from '../../components/index.js';
import { UNIT } from '../../components/units.js';
import type { Secured, Step } from './context.js';
import { waitForApiServer } from '../kube/waits.js';
import { journalTail, startLoadedUnits } from '../node/units.js';
import { counted } from '../../util/words.js';
import { concurrently } from '../../util/concurrent.js';

/**
 * The API servers started with their masters; ready when /readyz answers
 * through the lb (HAProxy, started with the lb, in front of them). Then the
 * controller-manager and the scheduler on every master, which need it ready.
 */
export const startControlPlane: Step<Secured, void> = {
  title: 'Starting control plane',
  async run(ctx, note) {
    const { plan } = ctx;
    const first = plan.masters[0];
    if (!first) throw new Error('internal: no masters');
    await waitForApiServer(ctx.api, ctx.deadline, async () => `${await journalTail(ctx.engine, first, UNIT.apiServer)}\n${await journalTail(ctx.engine, plan.lb, UNIT.haproxy, 10)}`);
    await concurrently(plan.masters, (master) => startLoadedUnits(ctx.engine, master, AFTER_API_SERVER_UNITS));
    note(`${counted(plan.masters.length, 'API server')} behind ${ctx.api.server}`);
  },
};
