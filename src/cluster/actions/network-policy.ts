import { KUBE_ROUTER_FORWARD_CHAIN, KUBE_ROUTER_UNIT } from '../../components/kube-router.js';
import type { Secured } from '../context.js';
import { journalTail } from '../node-ops.js';
import { waitUntil } from '../wait.js';

/**
 * Waits until kube-router's policy controller has synced once on every
 * worker: its chain hooked into FORWARD exists only after a full sync, so
 * from then on a NetworkPolicy the user applies is enforced.
 */
export async function waitForKubeRouter(ctx: Pick<Secured, 'plan' | 'engine' | 'deadline'>, workers = ctx.plan.workers): Promise<void> {
  await Promise.all(
    workers.map((worker) =>
      waitUntil(
        `kube-router's policy chains on ${worker.name}`,
        async () => {
          const result = await ctx.engine.exec(worker.name, ['iptables', '-w', '-S', KUBE_ROUTER_FORWARD_CHAIN]);
          return result.exitCode === 0 || 'not synced yet';
        },
        { deadline: ctx.deadline, intervalMs: 1000, onTimeout: () => journalTail(ctx.engine, worker, KUBE_ROUTER_UNIT) },
      ),
    ),
  );
}
