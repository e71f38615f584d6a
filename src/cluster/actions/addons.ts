import { coreDnsManifest } from '../../components/coredns.js';
import { runsKubeRouter } from '../../components/index.js';
import { kubeRouterRbac } from '../../components/kube-router.js';
import { apiServerToKubeletRbac } from '../../components/rbac.js';
import type { Secured, Step } from '../context.js';
import { kubectl } from '../kubectl.js';

/**
 * RBAC for API server → kubelet (logs, exec) and for kube-router, and
 * CoreDNS, in one `kubectl apply` on the first master, as soon as the API
 * server is ready: kube-router finds its permissions when it starts, and the
 * scheduler places CoreDNS the moment a node is Ready.
 */
export const installAddons: Step<Secured, void> = {
  title: 'Installing RBAC and CoreDNS',
  async run(ctx, note) {
    const rbac = [apiServerToKubeletRbac(), ...(runsKubeRouter(ctx.plan) ? [kubeRouterRbac()] : [])];
    // kubectl applies a multi-document stream in order: the RBAC objects first.
    await kubectl(ctx.engine, ctx.plan, ['apply', '-f', '-'], [...rbac, coreDnsManifest(ctx.plan)].map(endWithNewline).join('---\n'));
    note('applied');
  },
};

function endWithNewline(document: string): string {
  return document.endsWith('\n') ? document : `${document}\n`;
}
