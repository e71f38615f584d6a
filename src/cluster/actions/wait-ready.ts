import { requirePlan, waitBudgetMs, type Action } from '../context.js';
import { kubectl } from '../kubectl.js';
import { waitUntil } from '../wait.js';

/** Usable means: every worker Ready and CoreDNS serving (unless the user brings their own network). */
export const waitForReady: Action = {
  title: 'Waiting for nodes and CoreDNS',
  async run(ctx, note) {
    const plan = requirePlan(ctx);
    if (plan.spec.cni === 'none') {
      note('skipped: --cni none, nodes stay NotReady until you install a pod network');
      return;
    }
    await waitUntil(
      'every node to be Ready',
      async () => {
        const out = await kubectl(ctx.engine, plan, [
          'get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        ]);
        const notReady = out.split('\n').filter((l) => l && !l.endsWith('=True'));
        return (notReady.length === 0 && out.trim().split('\n').length >= plan.workers.length) || `not ready: ${notReady.join(', ')}`;
      },
      { timeoutMs: waitBudgetMs(ctx), intervalMs: 1000 },
    );
    await waitUntil(
      'CoreDNS to be available',
      async () => {
        const out = await kubectl(ctx.engine, plan, ['-n', 'kube-system', 'get', 'deployment', 'coredns', '-o', 'jsonpath={.status.availableReplicas}']);
        return Number(out.trim() || '0') > 0 || 'no available replica yet';
      },
      { timeoutMs: waitBudgetMs(ctx), intervalMs: 1000 },
    );
    note(`${plan.workers.length} nodes Ready`);
  },
};
