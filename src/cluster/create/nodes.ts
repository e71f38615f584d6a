import { bootBundle } from '../../components/index.js';
import { allNodes } from '../../model/plan.js';
import { concurrently } from '../../util/concurrent.js';
import { counted } from '../../util/words.js';
import { bootNode } from '../node/boot.js';
import type { Secured, Step } from './context.js';
import { describeIngressPorts } from './ingress-ports.js';

/**
 * Creates every node container with all its files in place, and starts them
 * in parallel: each node's systemd starts its components as it boots (etcd
 * members find each other, API servers wait for etcd), so no step waits for a
 * boot, and no call goes into a node before something is to be checked.
 */
export const startNodes: Step<Secured, void> = {
  title: 'Starting nodes',
  async run(ctx, note) {
    const { plan, pki, apiServerHostPort } = ctx;
    // Every create settles before a failure is reported: the rollback lists the cluster's containers, and
    // one still being created then would appear after the listing, be left behind and keep the network in use.
    await concurrently(allNodes(plan), async (node) => ctx.progress.detail(await bootNode(ctx.engine, plan, node, apiServerHostPort, bootBundle(plan, node, pki))));
    const ingress = plan.spec.addons.ingress ? `, ingress on ${describeIngressPorts(plan.spec.ingressPorts)}` : '';
    note(`${counted(plan.masters.length, 'master')}, ${counted(plan.workers.length, 'worker')}, lb on ${plan.spec.apiServerAddress}:${apiServerHostPort}${ingress}`);
  },
};
