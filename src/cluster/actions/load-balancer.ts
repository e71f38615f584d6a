import { lbBundle } from '../../components/index.js';
import { UNIT } from '../../components/units.js';
import type { Secured, Step } from '../context.js';
import { installBundle, waitForUnit } from '../node-ops.js';

/** HAProxy needs no peer to start: a minute is plenty, even when the create's budget is larger. */
const HAPROXY_START_MS = 60_000;

export const configureLoadBalancer: Step<Secured, void> = {
  title: 'Configuring load balancer',
  async run(ctx, note) {
    const { plan } = ctx;
    await installBundle(ctx, plan.lb, lbBundle(plan));
    await waitForUnit(ctx.engine, plan.lb, UNIT.haproxy, ctx.deadline, HAPROXY_START_MS);
    note(`HAProxy over ${plan.masters.length} API servers`);
  },
};
