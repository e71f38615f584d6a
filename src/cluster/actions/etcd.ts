import { etcdctlCommand } from '../../components/etcd.js';
import { UNIT } from '../../components/units.js';
import type { Secured, Step } from '../context.js';
import { journalTail } from '../node-ops.js';
import { waitUntil } from '../wait.js';
import { counted } from '../../util/words.js';

/** etcd started with every master's boot (its members find each other): waits until the whole cluster is healthy. */
export const startEtcd: Step<Secured, void> = {
  title: 'Starting etcd cluster',
  async run(ctx, note) {
    const { plan } = ctx;
    const first = plan.masters[0];
    if (!first) throw new Error('internal: no masters');
    await waitUntil(
      `etcd on ${plan.masters.map((m) => m.name).join(', ')} to be healthy`,
      async () => {
        const result = await ctx.engine.exec(first.name, etcdctlCommand(plan, ['endpoint', 'health']));
        return result.exitCode === 0 || `${result.stdout}${result.stderr}`.trim().split('\n').pop() || 'unhealthy';
      },
      { deadline: ctx.deadline, intervalMs: 250, onTimeout: () => journalTail(ctx.engine, first, UNIT.etcd) },
    );
    note(counted(plan.masters.length, 'member'));
  },
};
