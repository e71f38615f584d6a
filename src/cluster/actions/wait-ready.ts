import { apiGetJson, hostApiServerUrl, isReady, listNodes } from '../api.js';
import type { Networking, Step } from '../context.js';
import { waitUntil } from '../wait.js';
import { runsKubeRouter } from '../../components/index.js';
import { waitForKubeRouter } from './network-policy.js';
import { waitForWeave } from './weave.js';
import { counted } from '../../util/words.js';

/**
 * Usable means: every worker Ready and CoreDNS serving (unless the user brings
 * their own network); with Weave, its DaemonSet ready too; with kube-router,
 * its policy rules in place on every worker.
 */
export const waitForReady: Step<Networking, void> = {
  title: 'Waiting for nodes and CoreDNS',
  async run(ctx, note) {
    const { plan } = ctx;
    if (plan.spec.cni === 'none') {
      note('skipped');
      ctx.progress.info('   --cni none: nodes stay NotReady until you install a pod network (kubectl apply -f <your CNI manifest>)');
      return;
    }
    // Polled every 250 ms with a GET from this process: a node turns Ready
    // (or CoreDNS available) at any moment, not on a second boundary.
    // Weave first: when it fails, its own logs say why better than NotReady nodes would.
    const weave = ctx.podNetwork.kind === 'weave' ? await waitForWeave(ctx) : undefined;
    const server = hostApiServerUrl(plan.spec.apiServerAddress, ctx.apiServerHostPort);
    await waitUntil(
      'every node to be Ready',
      async () => {
        const nodes = await listNodes(ctx.apiProbe, server, ctx.pki);
        const notReady = nodes.filter((node) => !isReady(node)).map((node) => node.metadata.name);
        return (notReady.length === 0 && nodes.length >= plan.workers.length) || `not ready: ${notReady.join(', ') || `${nodes.length} of ${plan.workers.length} registered`}`;
      },
      { deadline: ctx.deadline, intervalMs: 250 },
    );
    await waitUntil(
      'CoreDNS to be available',
      async () => {
        const path = '/apis/apps/v1/namespaces/kube-system/deployments/coredns';
        const deployment = await apiGetJson<{ status?: { availableReplicas?: number } }>(ctx.apiProbe, server, ctx.pki, path);
        return (deployment.status?.availableReplicas ?? 0) > 0 || 'no available replica yet';
      },
      { deadline: ctx.deadline, intervalMs: 250 },
    );
    const kubeRouter = runsKubeRouter(plan);
    if (kubeRouter) await waitForKubeRouter(ctx);
    note(`${counted(plan.workers.length, 'node')} Ready${weave ? `, Weave Net ${weave}` : ''}${kubeRouter ? ', NetworkPolicy enforced by kube-router' : ''}`);
  },
};
