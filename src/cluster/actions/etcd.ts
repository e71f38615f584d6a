import { etcdBundle, etcdctlCommand } from '../../components/etcd.js';
import { UNIT } from '../../components/units.js';
import type { Secured, Step } from '../context.js';
import { installBundle, journalTail } from '../node-ops.js';
import { waitUntil } from '../wait.js';

/** Starts etcd on every master at once (each waits for its peers), then checks the whole cluster's health. */
export const startEtcd: Step<Secured, void> = {
  title: 'Starting etcd cluster',
  async run(ctx, note) {
    const { plan, pki } = ctx;
    await Promise.all(
      plan.masters.map(async (master) => {
        const bundle = etcdBundle(plan, master, pki);
        await installBundle(ctx, master, bundle);
      }),
    );
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
    note(`${plan.masters.length} members`);
  },
};
