import { JOIN_UNITS } from '../../components/index.js';
import type { Secured, Step } from './context.js';
import { startLoadedUnits } from '../node/units.js';
import { counted } from '../../util/words.js';
import { concurrently } from '../../util/concurrent.js';

/**
 * kubelet and kube-proxy on every worker, as soon as the API server answers
 * through the lb: the kubelets register while kc installs the add-ons.
 */
export const joinWorkers: Step<Secured, void> = {
  title: 'Joining workers',
  async run(ctx, note) {
    const { plan } = ctx;
    await concurrently(plan.workers, (worker) => startLoadedUnits(ctx.engine, worker, JOIN_UNITS));
    ctx.progress.detail(`started ${JOIN_UNITS.join(', ')} on ${plan.workers.map((w) => w.name).join(', ')}`);
    note(`${JOIN_UNITS.map((u) => u.replace(/\.service$/, '')).join(', ')} on ${counted(plan.workers.length, 'worker')}`);
  },
};
