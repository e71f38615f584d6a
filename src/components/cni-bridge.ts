import { OVERLAY_MTU, spansEngines } from '../model/engines.js';
import { BOUNDARY_RULES_PATH, boundaryRuleset, LOAD_BOUNDARY_COMMAND } from './boundary.js';
import type { ClusterPlan, NodePlan } from '../model/plan.js';
import { PATHS } from './paths.js';
import type { ComponentBundle } from './types.js';
import { unitFile } from './unit.js';
import { UNIT } from './units.js';

export const BRIDGE_NAME = 'kc0';

/**
 * The routed bridge network: every worker bridges its pods on its own /24 and
 * routes the other workers' /24s to them over the cluster's Docker network.
 */
export function renderBridgeConflist(worker: NodePlan, plan?: ClusterPlan): string {
  if (!worker.podSubnet) throw new Error(`internal: ${worker.name} has no pod subnet`);
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'kc-bridge',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE_NAME,
          isGateway: true,
          // Pods see each other's real addresses; only traffic leaving the pod range is masqueraded (kc-pod-network.service).
          ipMasq: false,
          hairpinMode: true,
          // Across engines the nodes talk over VXLAN: pods' packets must fit in the overlay's smaller frames.
          ...(plan && spansEngines(plan.spec) ? { mtu: OVERLAY_MTU } : {}),
          ipam: { type: 'host-local', ranges: [[{ subnet: worker.podSubnet }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/** The comment that marks kc's own iptables rule, so `iptables-save` shows whose it is. */
const EGRESS_COMMENT = 'kc-pod-egress';

/** `iptables -C` (is it there?) before `-A`, so the commands can run at every boot. */
function appendRuleOnce(table: string, chain: string, rule: string): string {
  return `iptables -t ${table} -C ${chain} ${rule} 2>/dev/null || iptables -t ${table} -A ${chain} ${rule}`;
}

/**
 * What keeps pod and Service traffic inside the cluster, on every node:
 * - the whole pod range is `unreachable` (the bridge network's routes to each
 *   worker's /24, and a worker's own bridge, are more specific and win), so a
 *   pod address no worker owns fails at once instead of leaving through the
 *   Docker gateway toward the host's default route; a route, so no firewall
 *   chain's order can matter;
 * - Service addresses that kube-proxy did not translate to a pod are rejected
 *   by kc's own nftables table (boundary.ts explains why not iptables).
 * With another pod network (weave, none) the pod range is that network's to route.
 */
export function clusterBoundaryCommands(plan: ClusterPlan): string[] {
  return [...(plan.spec.cni === 'bridge' ? [`ip route replace unreachable ${plan.spec.podSubnet}`] : []), LOAD_BOUNDARY_COMMAND];
}

/**
 * Shell commands for one node's share of the pod network, idempotent so that
 * they can run at every boot: routes to the pod range of every other worker
 * (on masters too: API servers call webhooks, aggregated APIs and pods/proxy
 * by pod address), the cluster boundary above, and on workers masquerading of
 * pod traffic that leaves the pod range (nodes and beyond have no routes back).
 */
export function podNetworkCommands(plan: ClusterPlan, node: NodePlan): string[] {
  const pods = plan.spec.podSubnet;
  const masquerade = `-s ${pods} ! -d ${pods} -m comment --comment ${EGRESS_COMMENT} -j MASQUERADE`;
  const bridge = plan.spec.cni === 'bridge';
  return [
    ...(bridge ? podRoutes(plan, node).map((r) => `ip route replace ${r.subnet} via ${r.via}`) : []),
    ...clusterBoundaryCommands(plan),
    ...(bridge && node.role === 'worker' ? [appendRuleOnce('nat', 'POSTROUTING', masquerade)] : []),
  ];
}

export const POD_NETWORK_UNIT = UNIT.podNetwork;

/**
 * A one-shot unit for one node's routes and rules (see podNetworkCommands),
 * and on workers of the bridge network its conflist: a unit rather than
 * commands run once, so that everything comes back when the node container
 * restarts (a restart gives it a fresh network namespace).
 */
export function podNetworkBundle(plan: ClusterPlan, node: NodePlan): ComponentBundle {
  const conflist =
    plan.spec.cni === 'bridge' && node.role === 'worker'
      ? [{ path: `${PATHS.cniConfDir}/10-kc-bridge.conflist`, content: renderBridgeConflist(node, plan) }]
      : [];
  return {
    files: [
      ...conflist,
      { path: BOUNDARY_RULES_PATH, content: boundaryRuleset(plan) },
      unitFile(POD_NETWORK_UNIT, {
        description: "kc's pod network on this node: routes to every worker's pods, the cluster boundary, egress masquerading",
        type: 'oneshot',
        command: ['/bin/sh', '-ec', `'${podNetworkCommands(plan, node).join('; ')}'`],
        after: ['network.target'],
      }),
    ],
    units: [POD_NETWORK_UNIT],
  };
}

export interface PodRoute {
  subnet: string;
  via: string;
}

/** Routes a node needs to reach the pods of every worker but itself. */
export function podRoutes(plan: ClusterPlan, node: NodePlan): PodRoute[] {
  return plan.workers
    .filter((other) => other.name !== node.name && other.podSubnet)
    .map((other) => ({ subnet: other.podSubnet ?? '', via: other.ip }));
}
