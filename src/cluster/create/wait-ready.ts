import type { Networking, Step } from './context.js';
import { runsKubeRouter } from '../../components/index.js';
import { addonStatuses, applyAddonResources, describeAddons } from '../kube/addons.js';
import { kubectl } from '../kube/kubectl.js';
import { waitForCoreDns, waitForKubeRouter, waitForNodesReady } from '../kube/waits.js';
import { waitForWeave } from './weave.js';
import { counted } from '../../util/words.js';
import { awaitAll } from '../../util/concurrent.js';

/**
 * Usable means: every worker Ready and CoreDNS serving (unless the user brings
 * their own network); with Weave, its DaemonSet ready too; with kube-router,
 * its policy rules in place on every worker.
 */
export const waitForReady: Step<Networking, void> = {
  title: 'Waiting for nodes and CoreDNS',
  async run(ctx, note) {
    const { plan } = ctx;
    const kubectlOnMaster = (args: string[], input?: string) => kubectl(ctx.engine, plan, args, input);
    if (plan.spec.cni === 'none') {
      // The API server serves them without a pod network: the add-ons find them when one comes.
      await applyAddonResources(kubectlOnMaster, plan, ctx.deadline.remainingMs() / 1000);
      note('skipped');
      ctx.progress.info('   --cni none: nodes stay NotReady until you install a pod network (kubectl apply -f <your CNI manifest>)');
      return;
    }
    // Weave first: when it fails, its own logs say why better than NotReady nodes would.
    const weave = ctx.podNetwork.kind === 'weave' ? await waitForWeave(ctx) : undefined;
    await awaitAll([
      (async () => {
        await waitForNodesReady(ctx.api, plan.workers.map((w) => w.name), ctx.deadline);
        await waitForCoreDns(ctx.api, ctx.deadline);
      })(),
      // The add-ons' own configuration (MetalLB's pool, the GatewayClass): its first write takes the API server seconds, spent here in parallel.
      applyAddonResources(kubectlOnMaster, plan, ctx.deadline.remainingMs() / 1000),
    ]);
    const kubeRouter = runsKubeRouter(plan);
    if (kubeRouter) await waitForKubeRouter(ctx);
    note(`${counted(plan.workers.length, 'node')} Ready${weave ? `, Weave Net ${weave}` : ''}${kubeRouter ? ', NetworkPolicy enforced by kube-router' : ''}`);
    // Not waited for: metrics-server serves once it has scraped the kubelets, seconds after the cluster is usable.
    const addons = await addonStatuses(ctx.api, plan);
    if (addons.some((a) => a.status !== 'ready')) {
      ctx.progress.info(`   add-ons: ${describeAddons(addons)} (kc get clusters shows when they are ready)`);
    }
  },
};
