import { masterBundle } from '../../components/index.js';
import { hostApiServerUrl } from '../api.js';
import type { Secured, Step } from '../context.js';
import { deliverFiles, installBundle, journalTail } from '../node-ops.js';
import { ADMIN_KUBECONFIG_ON_NODE, adminKubeconfigOnNode } from '../kubectl.js';
import { waitUntil } from '../wait.js';
import { UNIT } from '../../components/units.js';

/**
 * kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy and the
 * routes to the pods on every master; ready when /readyz answers through the lb.
 */
export const startControlPlane: Step<Secured, void> = {
  title: 'Starting control plane',
  async run(ctx, note) {
    const { plan, pki } = ctx;
    await Promise.all(
      plan.masters.map(async (master) => {
        await installBundle(ctx, master, masterBundle(plan, master, pki));
      }),
    );
    const first = plan.masters[0];
    if (!first) throw new Error('internal: no masters');
    // kubectl on a master (the pod network, add-ons, node changes) uses the admin kubeconfig, talking to its own API server.
    // Every master gets it: once the first one is removed or down, another one runs kubectl.
    const adminKubeconfig = { files: [{ path: ADMIN_KUBECONFIG_ON_NODE, content: adminKubeconfigOnNode(plan, pki), mode: 0o600 }], units: [] };
    await Promise.all(plan.masters.map((master) => deliverFiles(ctx.engine, master, adminKubeconfig)));
    const server = hostApiServerUrl(plan.spec.apiServerAddress, ctx.apiServerHostPort);
    await waitUntil(
      `the API server to be ready at ${server}/readyz`,
      async () => {
        const response = await ctx.apiProbe(server, pki, '/readyz');
        return response.status === 200 || `HTTP ${response.status}: ${response.body.split('\n').filter((l) => l.includes('failed')).join('; ')}`;
      },
      { deadline: ctx.deadline, intervalMs: 500, onTimeout: () => journalTail(ctx.engine, first, UNIT.apiServer) },
    );
    note(`${plan.masters.length} API servers behind ${server}`);
  },
};
