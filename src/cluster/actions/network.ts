import { LABEL_CLUSTER } from '../../docker/engine.js';
import { requirePlan, type Action } from '../context.js';

export const createNetwork: Action = {
  title: 'Creating network',
  async run(ctx, note) {
    const plan = requirePlan(ctx);
    await ctx.engine.createNetwork({
      name: plan.network.name,
      subnet: plan.network.subnet,
      gateway: plan.network.gateway,
      labels: { [LABEL_CLUSTER]: plan.spec.name },
    });
    note(`${plan.network.name}, ${plan.network.subnet}`);
  },
};
