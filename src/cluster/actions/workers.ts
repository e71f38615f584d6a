import { apiClientUnits, workerBundle } from '../../components/index.js';
import type { Secured, Step } from '../context.js';
import { installBundle } from '../node-ops.js';

/**
 * Everything workers need, delivered, and what does not need the API server
 * (containerd, the image import, the pod network) started: this overlaps with
 * etcd and the control plane starting on the masters.
 */
export const startWorkers: Step<Secured, void> = {
  title: 'Starting workers',
  async run(ctx, note) {
    const { plan, pki } = ctx;
    await Promise.all(
      plan.workers.map(async (worker) => {
        const bundle = workerBundle(plan, worker, pki);
        const later = apiClientUnits(plan);
        await installBundle(ctx, worker, { ...bundle, units: bundle.units.filter((u) => !later.includes(u)) });
      }),
    );
    note(`${plan.workers.length} workers, ${plan.spec.cni} pod network`);
  },
};

/** kubelet, kube-proxy (and kube-router) on every worker, once the API server answers through the lb. */
export const joinWorkers: Step<Secured, void> = {
  title: 'Joining workers',
  async run(ctx, note) {
    const { plan } = ctx;
    const units = apiClientUnits(plan);
    // Their unit files came with "Starting workers", whose daemon-reload loaded them: enabling is all that is left.
    await Promise.all(plan.workers.map((worker) => ctx.engine.execOrThrow(worker.name, ['systemctl', 'enable', '--now', '--no-block', ...units])));
    ctx.progress.detail(`started ${units.join(', ')} on ${plan.workers.map((w) => w.name).join(', ')}`);
    note(`${units.map((u) => u.replace(/\.service$/, '')).join(', ')} on ${plan.workers.length} workers`);
  },
};
