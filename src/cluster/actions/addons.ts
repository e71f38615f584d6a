import { coreDnsManifest } from '../../components/coredns.js';
import { runsKubeRouter } from '../../components/index.js';
import { kubeRouterRbac } from '../../components/kube-router.js';
import { apiServerToKubeletRbac } from '../../components/rbac.js';
import type { Networking, Step } from '../context.js';
import { kubectl } from '../kubectl.js';

/** RBAC for API server → kubelet (logs, exec) and for kube-router, then CoreDNS, applied with kubectl on the first master. */
export const installAddons: Step<Networking, void> = {
  title: 'Installing RBAC and CoreDNS',
  async run(ctx, note) {
    const rbac = [apiServerToKubeletRbac(), ...(runsKubeRouter(ctx.plan) ? [kubeRouterRbac()] : [])];
    await kubectl(ctx.engine, ctx.plan, ['apply', '-f', '-'], rbac.join('---\n'));
    await kubectl(ctx.engine, ctx.plan, ['apply', '-f', '-'], coreDnsManifest(ctx.plan));
    note('applied');
  },
};
