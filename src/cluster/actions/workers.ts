import { apiClientUnits } from '../../components/index.js';
import type { Secured, Step } from '../context.js';
import { startLoadedUnits } from '../node-ops.js';

/** kubelet, kube-proxy (and kube-router) on every worker, once the API server answers through the lb. */
export const joinWorkers: Step<Secured, void> = {
  title: 'Joining workers',
  async run(ctx, note) {
    const { plan } = ctx;
    const units = apiClientUnits(plan);
    await Promise.all(plan.workers.map((worker) => startLoadedUnits(ctx.engine, worker, units)));
    ctx.progress.detail(`started ${units.join(', ')} on ${plan.workers.map((w) => w.name).join(', ')}`);
    note(`${units.map((u) => u.replace(/\.service$/, '')).join(', ')} on ${plan.workers.length} workers`);
  },
};
