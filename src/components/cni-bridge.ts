import type { ClusterPlan, NodePlan } from '../cluster/plan.js';
import { PATHS } from './paths.js';
import type { ComponentBundle } from './types.js';

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
          ipMasq: true,
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

export function cniBridgeBundle(worker: NodePlan): ComponentBundle {
  return { files: [{ path: `${PATHS.cniConfDir}/10-kc-bridge.conflist`, content: renderBridgeConflist(worker) }], units: [] };
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
