import { lbBundle } from '../../components/index.js';
import { requirePlan, type Action } from '../context.js';
import { installBundle, waitForUnit } from '../node-ops.js';
import { UNIT } from '../../components/units.js';

export const configureLoadBalancer: Action = {
  title: 'Configuring load balancer',
  async run(ctx, note) {
    const plan = requirePlan(ctx);
    const bundle = lbBundle(plan);
    await installBundle(ctx, plan.lb, bundle);
    await waitForUnit(ctx.engine, plan.lb, UNIT.haproxy, 60_000);
    note(`HAProxy over ${plan.masters.length} API servers`);
  },
};
