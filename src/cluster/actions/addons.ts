import { coreDnsManifest } from '../../components/coredns.js';
import { runsKubeRouter } from '../../components/index.js';
import { kubeRouterRbac } from '../../components/kube-router.js';
import { apiServerToKubeletRbac } from '../../components/rbac.js';
import { renderKubeconfig } from '../../pki/kubeconfig.js';
import { requirePki, requirePlan, waitBudgetMs, type Action } from '../context.js';
import { deliverFiles } from '../node-ops.js';
import { ADMIN_KUBECONFIG_ON_NODE, kubectl } from '../kubectl.js';
import { waitUntil } from '../wait.js';
import { installWeave } from './weave.js';

/** RBAC for API server → kubelet (and kube-router), each worker's podCIDR, Weave Net (--cni weave) and CoreDNS: applied with kubectl on the first master. */
export const installAddons: Action = {
  title: 'Installing RBAC and CoreDNS',
  async run(ctx, note) {
    const plan = requirePlan(ctx);
    const pki = requirePki(ctx);
    const first = plan.masters[0];
    if (!first) throw new Error('internal: no masters');
    const admin = renderKubeconfig({
      contextName: 'admin',
      clusterName: plan.spec.name,
      userName: 'admin',
      server: 'https://127.0.0.1:6443',
      caPem: pki.ca.certPem,
      certPem: pki.admin.certPem,
      keyPem: pki.admin.keyPem,
    });
    await deliverFiles(ctx.engine, first, { files: [{ path: ADMIN_KUBECONFIG_ON_NODE, content: admin, mode: 0o600 }], units: [] });
    // kube-router is already (re)starting on the workers: its read access comes first.
    const rbac = [apiServerToKubeletRbac(), ...(runsKubeRouter(plan) ? [kubeRouterRbac()] : [])];
    await kubectl(ctx.engine, plan, ['apply', '-f', '-'], rbac.join('---\n'));
    // kc gives each worker a fixed slice of the pod range (the bridge network routes by it);
    // a node's podCIDR can be set once, after kubelet registered the node.
    await waitUntil(
      'every worker to register',
      async () => {
        const names = (await kubectl(ctx.engine, plan, ['get', 'nodes', '-o', 'name'])).split('\n').filter(Boolean);
        return names.length >= plan.workers.length || `${names.length} of ${plan.workers.length} registered`;
      },
      { timeoutMs: waitBudgetMs(ctx), intervalMs: 500 },
    );
    for (const worker of plan.workers) {
      const current = (await kubectl(ctx.engine, plan, ['get', 'node', worker.name, '-o', 'jsonpath={.spec.podCIDR}'])).trim();
      if (current) continue;
      const patch = JSON.stringify({ spec: { podCIDR: worker.podSubnet, podCIDRs: [worker.podSubnet] } });
      await kubectl(ctx.engine, plan, ['patch', 'node', worker.name, '--type', 'merge', '-p', patch]);
    }
    const applied: string[] = [];
    // The pod network first: CoreDNS's pods need it for their addresses.
    if (plan.spec.cni === 'weave') applied.push(`weave-net (iptables ${await installWeave(ctx, plan)})`);
    await kubectl(ctx.engine, plan, ['apply', '-f', '-'], coreDnsManifest(plan));
    applied.push('coredns');
    note(`${applied.join(', ')} applied`);
  },
};
