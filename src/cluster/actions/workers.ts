import { workerBundle } from '../../components/index.js';
import { requirePki, requirePlan, type Action } from '../context.js';
import { installBundle } from '../node-ops.js';

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
        await installBundle(ctx, worker, bundle);
      }),
    );
    note(`${plan.workers.length} workers, ${plan.spec.cni} pod network`);
  },
};
