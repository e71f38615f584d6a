import { LABEL_CLUSTER, SubnetTakenError } from '../../provider/provider.js';
import { UsageError } from '../../util/errors.js';
import type { CreateBase, Step } from './context.js';
import { gatewayOf, networkName } from '../../model/plan.js';
import { engineOwnRange, spansEngines } from '../../model/engines.js';
import { saveClusterEngines } from '../../state/cluster-engines.js';
import { loadState } from '../../state/cluster-state.js';
import { pickNodeSubnet } from '../../model/subnet.js';
import { hostRoutes } from '../../util/host-routes.js';
import { awaitAll } from '../../util/concurrent.js';

/** A cluster name is taken when anything of it exists: containers, its network, or its state. */
export async function clusterExists(ctx: Pick<CreateBase, 'engine'>, name: string): Promise<boolean> {
  const labels = { [LABEL_CLUSTER]: name };
  const [containers, networks, state] = await awaitAll([
    ctx.engine.listNodes(labels),
    ctx.engine.listNetworks(labels),
    loadState(name),
  ]);
  return containers.length > 0 || networks.length > 0 || state !== undefined;
}

/** The name is taken: bad usage (exit code 2), and nothing was created. */
export class ClusterExistsError extends UsageError {
  constructor(readonly cluster: string) {
    super(`a cluster named "${cluster}" already exists: delete it with \`kc delete cluster --name ${cluster}\`, or pick another --name`);
    this.name = 'ClusterExistsError';
  }
}

/** Enough tries to get past every cluster being created at the same moment. */
const MAX_SUBNET_ATTEMPTS = 32;

/**
 * Creates the cluster's network on the first free /24. The network comes
 * before the plan: node addresses (and so the certificates) depend on the
 * subnet, and only a created network really owns one. When another cluster
 * created at the same time takes the subnet first, the next one is tried.
 */
export const createNetwork: Step<CreateBase, { nodeSubnet: string }> = {
  title: 'Creating network',
  creates: true,
  async run(ctx, note) {
    const name = ctx.spec.name;
    if (spansEngines(ctx.spec)) await saveClusterEngines(name, { engines: ctx.spec.engines, nodeExtras: ctx.spec.nodeExtras });
    // Once, before any attempt: a subnet another cluster took is not a reason to leave and join the swarm again.
    await ctx.span?.join();
    const taken = [...(await ctx.engine.usedSubnets()), ...(await hostRoutes())];
    for (let attempt = 1; ; attempt++) {
      const subnet = pickNodeSubnet(taken);
      try {
        await ctx.engine.createNetwork({
          name: networkName(name),
          subnet,
          gateway: gatewayOf(subnet),
          cluster: name,
          ...(spansEngines(ctx.spec) ? { engineRange: engineOwnRange(subnet) } : {}),
        });
      } catch (error) {
        if (!(error instanceof SubnetTakenError) || attempt >= MAX_SUBNET_ATTEMPTS) throw error;
        taken.push(subnet);
        continue;
      }
      note(`${networkName(name)}, ${subnet}`);
      return { nodeSubnet: subnet };
    }
  },
};
