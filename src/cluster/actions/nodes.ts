import { freeTcpPort } from '../../util/net.js';
import { nodeExtrasFor } from '../../config/defaults.js';
import type { NodeExtras } from '../../config/types.js';
import type { NodeSpec, PublishedPort } from '../../provider/provider.js';
import type { CreateBase, Planned, Step } from '../context.js';
import { waitForBoot } from '../node-ops.js';
import { allNodes, API_SERVER_PORT, type ClusterPlan, type NodePlan } from '../../model/plan.js';

export function containerdVolume(node: NodePlan): string {
  return `${node.name}-containerd`;
}

/** The user's extra port mappings and mounts for one node, in the provider's terms. */
function extrasFor(extras: NodeExtras): Pick<NodeSpec, 'ports' | 'mounts'> {
  return {
    ports: extras.extraPortMappings.map((m) => ({
      containerPort: m.containerPort,
      protocol: m.protocol.toLowerCase() as PublishedPort['protocol'],
      hostIp: m.listenAddress,
      hostPort: m.hostPort,
    })),
    mounts: extras.extraMounts.map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath, readOnly: m.readOnly })),
  };
}

/** What kc wants of one node; how the engine runs it is the provider's business. */
export function nodeSpec(plan: ClusterPlan, node: NodePlan, apiServerHostPort: number): NodeSpec {
  const extras = extrasFor(nodeExtrasFor(plan.spec, node.role, node.index));
  const apiServer: PublishedPort[] =
    node.role === 'lb' ? [{ containerPort: API_SERVER_PORT, protocol: 'tcp', hostIp: plan.spec.apiServerAddress, hostPort: apiServerHostPort }] : [];
  return {
    name: node.name,
    ...(node.engine === undefined ? {} : { engine: node.engine }),
    cluster: plan.spec.name,
    role: node.role,
    image: plan.spec.nodeImage,
    network: plan.network.name,
    ip: node.ip,
    ports: [...extras.ports, ...apiServer],
    mounts: extras.mounts,
    // containerd's overlayfs snapshots cannot live on the container's own overlay root.
    volumes: node.role === 'worker' ? [{ name: containerdVolume(node), path: '/var/lib/containerd' }] : [],
    peers: allNodes(plan).map((peer) => ({ name: peer.name, ip: peer.ip })),
  };
}

/**
 * Host port 0 ("any free port") resolved to a concrete port now: the engine
 * would pick a new one each time the node restarts, breaking whatever points at it.
 */
async function pinHostPorts(ports: PublishedPort[]): Promise<PublishedPort[]> {
  const pinned: PublishedPort[] = [];
  for (const port of ports) pinned.push(port.hostPort === 0 ? { ...port, hostPort: await freeTcpPort(port.hostIp) } : port);
  return pinned;
}

async function startNode(ctx: CreateBase, plan: ClusterPlan, node: NodePlan, apiServerHostPort: number): Promise<void> {
  const spec = nodeSpec(plan, node, apiServerHostPort);
  await ctx.engine.createNode({ ...spec, ports: await pinHostPorts(spec.ports) });
}

/** Creates and boots every node container in parallel; systemd must reach `running` in each. */
export const startNodes: Step<Planned, { apiServerHostPort: number }> = {
  title: 'Starting nodes',
  async run(ctx, note) {
    const { plan } = ctx;
    const nodes = allNodes(plan);
    const apiServerHostPort = plan.spec.apiServerPort || (await freeTcpPort(plan.spec.apiServerAddress));
    await Promise.all(nodes.map((node) => startNode(ctx, plan, node, apiServerHostPort)));
    const degraded = await Promise.all(nodes.map((node) => waitForBoot(ctx.engine, node, ctx.deadline)));
    const failedUnits = degraded.flat();
    if (failedUnits.length > 0) ctx.progress.info(`   note: failed units at boot: ${[...new Set(failedUnits)].join(', ')}`);
    note(`${plan.masters.length} masters, ${plan.workers.length} workers, lb on ${plan.spec.apiServerAddress}:${apiServerHostPort}`);
    return { apiServerHostPort };
  },
};
