import type { Networking, Secured, Step } from './context.js';
import { assignPodCidrs } from '../kube/kubectl.js';
import { waitForRegistered } from '../kube/waits.js';
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
    // kubelets register within a second or two of joining; then each gets its slice, every worker at once.
    const podCidrs = await waitForRegistered(ctx.api, plan.workers.map((w) => w.name), ctx.deadline);
    await assignPodCidrs(ctx.engine, plan, plan.workers, podCidrs);
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
