import { API_CLIENT_UNITS, workerBundle } from '../../components/index.js';
import type { Secured, Step } from '../context.js';
import { installBundle, startUnits } from '../node-ops.js';

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
        await installBundle(ctx, worker, { ...bundle, units: bundle.units.filter((u) => !API_CLIENT_UNITS.includes(u)) });
      }),
    );
    note(`${plan.workers.length} workers, ${plan.spec.cni} pod network`);
  },
};

/** kubelet and kube-proxy on every worker, once the API server answers through the lb. */
export const joinWorkers: Step<Secured, void> = {
  title: 'Joining workers',
  async run(ctx, note) {
    const { plan } = ctx;
    await Promise.all(plan.workers.map((worker) => startUnits(ctx.engine, worker, [...API_CLIENT_UNITS])));
    ctx.progress.detail(`started ${API_CLIENT_UNITS.join(', ')} on ${plan.workers.map((w) => w.name).join(', ')}`);
    note(`kubelet and kube-proxy on ${plan.workers.length} workers`);
  },
};
