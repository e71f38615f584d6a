import { enabledAddons } from '../../components/addons.js';
import { applyAddons } from '../kube/addons.js';
import { runsKubeRouter } from '../../components/index.js';
import { KUBE_ROUTER_UNIT } from '../../components/kube-router.js';
import type { Secured, Step } from './context.js';
import { kubectl } from '../kube/kubectl.js';
import { startLoadedUnits } from '../node/units.js';
import { counted } from '../../util/words.js';
import { concurrently } from '../../util/concurrent.js';

/**
 * RBAC for API server → kubelet (logs, exec) and for kube-router, CoreDNS
 * and the add-ons (storage, metrics-server, load balancer), applied by
 * kubectl on the first master while the kubelets register: the scheduler places them the
 * moment a node is Ready. Then kube-router on every worker, which finds its
 * permissions when it starts.
 */
export const installAddons: Step<Secured, void> = {
  title: 'Installing add-ons',
  async run(ctx, note) {
    const { plan } = ctx;
    const kubeRouter = runsKubeRouter(plan);
    await applyAddons((args, input) => kubectl(ctx.engine, plan, args, input), plan);
    if (kubeRouter) await concurrently(plan.workers, (worker) => startLoadedUnits(ctx.engine, worker, [KUBE_ROUTER_UNIT]));
    const addons = enabledAddons(plan).map((a) => a.name);
    note(['RBAC', 'CoreDNS', ...addons, ...(kubeRouter ? [`kube-router on ${counted(plan.workers.length, 'worker')}`] : [])].join(', '));
  },
};
