import { existsSync } from 'node:fs';
import { freeTcpPort } from '../../util/net.js';
import { nodeExtrasFor } from '../../config/defaults.js';
import type { NodeExtras } from '../../config/types.js';
import { LABEL_CLUSTER, LABEL_ROLE, type ContainerSpec } from '../../provider/docker/engine.js';
import { requirePlan, waitBudgetMs, type Action, type CreateContext } from '../context.js';
import { waitForBoot } from '../node-ops.js';
import { allNodes, API_SERVER_PORT, type NodePlan } from '../../model/plan.js';

export function containerdVolume(node: NodePlan): string {
  return `${node.name}-containerd`;
}

/** The user's extra port mappings and mounts for one node, in Docker's terms. */
function extrasForDocker(extras: NodeExtras): Pick<ContainerSpec, 'ports' | 'binds'> {
  const ports: NonNullable<ContainerSpec['ports']> = {};
  for (const mapping of extras.extraPortMappings) {
    ports[`${mapping.containerPort}/${mapping.protocol.toLowerCase()}`] = { hostIp: mapping.listenAddress, hostPort: mapping.hostPort };
  }
  const binds = extras.extraMounts.map((m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`);
  return { ports, binds };
}

function containerSpec(ctx: CreateContext, node: NodePlan): ContainerSpec {
  const plan = requirePlan(ctx);
  const labels = { [LABEL_CLUSTER]: plan.spec.name, [LABEL_ROLE]: node.role };
  const spec: ContainerSpec = {
    name: node.name,
    hostname: node.name,
    image: plan.spec.nodeImage,
    labels,
    network: plan.network.name,
    ip: node.ip,
    privileged: true,
    tmpfs: { '/run': 'rw,nosuid,nodev,mode=755', '/tmp': 'rw,nosuid,nodev' },
    // Kernel modules the host has loaded stay usable (kube-proxy and Weave probe them).
    binds: existsSync('/lib/modules') ? ['/lib/modules:/lib/modules:ro'] : [],
  };
  const extras = extrasForDocker(nodeExtrasFor(plan.spec, node.role, node.index));
  spec.binds = [...(spec.binds ?? []), ...(extras.binds ?? [])];
  spec.ports = extras.ports;
  if (node.role === 'worker') {
    // containerd's overlayfs snapshots cannot live on the container's own overlay root.
    spec.volumes = { [containerdVolume(node)]: '/var/lib/containerd' };
  }
  if (node.role === 'lb') {
    spec.ports = { ...spec.ports, [`${API_SERVER_PORT}/tcp`]: { hostIp: plan.spec.apiServerAddress, hostPort: ctx.apiServerHostPort ?? plan.spec.apiServerPort } };
  }
  return spec;
}

/**
 * Host port 0 ("any free port") resolved to a concrete port now: Docker would
 * pick a new one each time the node restarts, breaking whatever points at it.
 */
async function pinHostPorts(ports: ContainerSpec['ports']): Promise<ContainerSpec['ports']> {
  if (!ports) return ports;
  const pinned: NonNullable<ContainerSpec['ports']> = {};
  for (const [port, binding] of Object.entries(ports)) {
    pinned[port] = binding.hostPort === 0 ? { ...binding, hostPort: await freeTcpPort(binding.hostIp) } : binding;
  }
  return pinned;
}

async function startNode(ctx: CreateContext, node: NodePlan): Promise<void> {
  const spec = containerSpec(ctx, node);
  spec.ports = await pinHostPorts(spec.ports);
  if (spec.volumes) {
    for (const volume of Object.keys(spec.volumes)) await ctx.engine.createVolume(volume, spec.labels);
  }
  await ctx.engine.createContainer(spec);
  await ctx.engine.startContainer(node.name);
}

/** Creates and boots every node container in parallel; systemd must reach `running` in each. */
export const startNodes: Action = {
  title: 'Starting nodes',
  async run(ctx, note) {
    const plan = requirePlan(ctx);
    const nodes = allNodes(plan);
    ctx.apiServerHostPort = plan.spec.apiServerPort || (await freeTcpPort(plan.spec.apiServerAddress));
    await Promise.all(nodes.map((node) => startNode(ctx, node)));
    const degraded = await Promise.all(nodes.map((node) => waitForBoot(ctx.engine, node, waitBudgetMs(ctx))));
    const failedUnits = degraded.flat();
    if (failedUnits.length > 0) ctx.progress.info(`   note: failed units at boot: ${[...new Set(failedUnits)].join(', ')}`);
    note(`${plan.masters.length} masters, ${plan.workers.length} workers, lb on ${plan.spec.apiServerAddress}:${ctx.apiServerHostPort}`);
  },
};
