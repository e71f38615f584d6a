import type { Secured, Step } from './context.js';
import { waitForEtcd } from '../kube/waits.js';
import { counted } from '../../util/words.js';

/** etcd started with every master's boot (its members find each other): waits until the whole cluster is healthy. */
export const startEtcd: Step<Secured, void> = {
  title: 'Starting etcd cluster',
  async run(ctx, note) {
    await waitForEtcd(ctx);
    note(counted(ctx.plan.masters.length, 'member'));
  },
};
