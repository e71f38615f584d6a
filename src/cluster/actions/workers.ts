import { podRoutes } from '../../components/cni-bridge.js';
import { workerBundle } from '../../components/index.js';
import { requirePki, requirePlan, type Action, type CreateContext } from '../context.js';
import { deliverFiles, startUnits } from '../node-ops.js';
import type { NodePlan } from '../plan.js';

async function installPodRoutes(ctx: CreateContext, worker: NodePlan): Promise<void> {
  for (const route of podRoutes(requirePlan(ctx), worker)) {
    await ctx.engine.execOrThrow(worker.name, ['ip', 'route', 'replace', route.subnet, 'via', route.via]);
  }
}

/**
 * containerd, image import, kubelet and kube-proxy on every worker. Started
 * before the control plane is up on purpose: kubelet keeps retrying, so the
 * workers get ready while etcd and the API servers start.
 */
export const startWorkers: Action = {
  title: 'Starting workers',
  async run(ctx, note) {
    const plan = requirePlan(ctx);
    const pki = requirePki(ctx);
    await Promise.all(
      plan.workers.map(async (worker) => {
        const bundle = workerBundle(plan, worker, pki);
        await deliverFiles(ctx.engine, worker, bundle);
        if (plan.spec.cni === 'bridge') await installPodRoutes(ctx, worker);
        await startUnits(ctx.engine, worker, bundle.units);
      }),
    );
    note(`${plan.workers.length} workers, ${plan.spec.cni} pod network`);
  },
};
