import type { Networking, Secured, Step } from '../context.js';
import { kubectl } from '../kubectl.js';
import { waitUntil } from '../wait.js';
import { installWeave } from './weave.js';

/**
 * The pod network: each worker's fixed slice of the pod range recorded as its
 * podCIDR (the bridge network routes by it; a node's podCIDR can be set once,
 * after its kubelet registered it), then Weave Net for `--cni weave`. The
 * bridge network's own files and routes came with the workers.
 */
export const setUpPodNetwork: Step<Secured, Pick<Networking, 'podNetwork'>> = {
  title: 'Setting up pod network',
  async run(ctx, note) {
    const { plan } = ctx;
    await waitUntil(
      'every worker to register',
      async () => {
        const names = (await kubectl(ctx.engine, plan, ['get', 'nodes', '-o', 'name'])).split('\n').filter(Boolean);
        return names.length >= plan.workers.length || `${names.length} of ${plan.workers.length} registered`;
      },
      { deadline: ctx.deadline, intervalMs: 500 },
    );
    for (const worker of plan.workers) {
      const current = (await kubectl(ctx.engine, plan, ['get', 'node', worker.name, '-o', 'jsonpath={.spec.podCIDR}'])).trim();
      if (current) continue;
      const patch = JSON.stringify({ spec: { podCIDR: worker.podSubnet, podCIDRs: [worker.podSubnet] } });
      await kubectl(ctx.engine, plan, ['patch', 'node', worker.name, '--type', 'merge', '-p', patch]);
    }
    const kind = plan.spec.cni;
    const detail =
      kind === 'weave'
        ? `weave-net, iptables ${await installWeave(ctx)}`
        : kind === 'bridge'
          ? `bridge, routes between ${plan.workers.length} workers`
          : 'none: install your own';
    note(detail);
    return { podNetwork: { kind, detail } };
  },
};
