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
export function renderBridgeConflist(worker: NodePlan): string {
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
          ipam: { type: 'host-local', ranges: [[{ subnet: worker.podSubnet }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/**
 * Shell commands that route the other workers' pod ranges and masquerade
 * traffic that leaves the pod range (to nodes and beyond: they have no routes
 * back to pods). Idempotent, so they can run at every boot.
 */
export function podNetworkCommands(plan: ClusterPlan, worker: NodePlan): string[] {
  const pods = plan.spec.podSubnet;
  const masquerade = `-s ${pods} ! -d ${pods} -m comment --comment kc-pod-egress -j MASQUERADE`;
  return [
    ...podRoutes(plan, worker).map((r) => `ip route replace ${r.subnet} via ${r.via}`),
    `iptables -t nat -C POSTROUTING ${masquerade} 2>/dev/null || iptables -t nat -A POSTROUTING ${masquerade}`,
  ];
}

export const POD_NETWORK_UNIT = UNIT.podNetwork;

/**
 * The bridge conflist, and a one-shot unit for routes and masquerading: a
 * unit rather than commands run once, so that both come back when the node
 * container restarts (a restart gives it a fresh network namespace).
 */
export function cniBridgeBundle(plan: ClusterPlan, worker: NodePlan): ComponentBundle {
  return {
    files: [
      { path: `${PATHS.cniConfDir}/10-kc-bridge.conflist`, content: renderBridgeConflist(worker) },
      unitFile(POD_NETWORK_UNIT, {
        description: "kc's routed pod network: routes to the other workers' pods, egress masquerading",
        type: 'oneshot',
        command: ['/bin/sh', '-ec', `'${podNetworkCommands(plan, worker).join('; ')}'`],
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

/** Routes a worker needs to reach the pods of every other worker. */
export function podRoutes(plan: ClusterPlan, worker: NodePlan): PodRoute[] {
  return plan.workers
    .filter((other) => other.name !== worker.name && other.podSubnet)
    .map((other) => ({ subnet: other.podSubnet ?? '', via: other.ip }));
}
