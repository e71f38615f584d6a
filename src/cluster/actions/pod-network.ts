import { hostApiServerUrl, listNodes } from '../api.js';
import type { Networking, Secured, Step } from '../context.js';
import { kubectl } from '../kubectl.js';
import { waitUntil } from '../wait.js';
import { installWeave } from './weave.js';
import { counted } from '../../util/words.js';

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
    const server = hostApiServerUrl(plan.spec.apiServerAddress, ctx.apiServerHostPort);
    // Node name → its podCIDR ('' when none yet), as the last poll saw them.
    let podCidrs = new Map<string, string>();
    await waitUntil(
      'every worker to register',
      async () => {
        podCidrs = new Map((await listNodes(ctx.apiProbe, server, ctx.pki)).map((node) => [node.metadata.name, node.spec?.podCIDR ?? '']));
        const missing = plan.workers.filter((w) => !podCidrs.has(w.name)).length;
        return missing === 0 || `${plan.workers.length - missing} of ${plan.workers.length} registered`;
      },
      // kubelets register within a second or two of joining: a short interval does not add a second to it.
      { deadline: ctx.deadline, intervalMs: 250 },
    );
    // A node's podCIDR can be set once: only where none is set yet, every worker at once.
    await Promise.all(
      plan.workers
        .filter((worker) => !podCidrs.get(worker.name))
        .map((worker) => {
          const patch = JSON.stringify({ spec: { podCIDR: worker.podSubnet, podCIDRs: [worker.podSubnet] } });
          return kubectl(ctx.engine, plan, ['patch', 'node', worker.name, '--type', 'merge', '-p', patch]);
        }),
    );
    const kind = plan.spec.cni;
    const detail =
      kind === 'weave'
        ? `weave-net, iptables ${await installWeave(ctx)}`
        : kind === 'bridge'
          ? `bridge, routes between ${counted(plan.workers.length, 'worker')}`
          : 'none: install your own';
    note(detail);
    return { podNetwork: { kind, detail } };
  },
};
