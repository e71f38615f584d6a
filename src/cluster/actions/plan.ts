import { LABEL_CLUSTER } from '../../docker/engine.js';
import { generateClusterPki } from '../../pki/cluster-pki.js';
import type { Action, CreateContext } from '../context.js';
import { planCluster } from '../plan.js';
import { loadState, saveState } from '../state.js';
import { hostRoutes, pickNodeSubnet } from '../subnet.js';

/** A cluster name is taken when anything of it exists: containers, its network, or its state. */
export async function clusterExists(ctx: Pick<CreateContext, 'engine'>, name: string): Promise<boolean> {
  const labels = { [LABEL_CLUSTER]: name };
  const [containers, networks, state] = await Promise.all([
    ctx.engine.listContainers(labels),
    ctx.engine.listNetworks(labels),
    loadState(name),
  ]);
  return containers.length > 0 || networks.length > 0 || state !== undefined;
}

/** Lays out the cluster on a free subnet and generates its PKI, before anything is created. */
export const planAndGeneratePki: Action = {
  title: 'Generating certificates and plan',
  async run(ctx, note) {
    const name = ctx.spec.name;
    if (await clusterExists(ctx, name)) {
      throw new Error(
        `a cluster named "${name}" already exists: delete it with \`kc delete cluster --name ${name}\`, or pick another --name`,
      );
    }
    const subnet = pickNodeSubnet([...(await ctx.engine.usedSubnets()), ...(await hostRoutes())]);
    ctx.plan = planCluster(ctx.spec, subnet);
    ctx.pki = generateClusterPki(ctx.plan);
    await saveState({ plan: ctx.plan, pki: ctx.pki, createdAt: new Date().toISOString(), kubeconfigPath: ctx.kubeconfigPath });
    ctx.createdAnything = true;
    note(`network ${subnet}`);
  },
};
