import { freeTcpPort } from '../../util/net.js';
import { nodeExtrasFor } from '../../config/defaults.js';
import type { NodeExtras } from '../../config/types.js';
import type { ArchiveEntry, NodeSpec, Provider, PublishedPort } from '../../provider/provider.js';
import { bootBundle } from '../../components/index.js';
import type { ClusterPki } from '../../pki/types.js';
import type { CreateBase, Secured, Step } from '../context.js';
import { ADMIN_KUBECONFIG_ON_NODE, adminKubeconfigOnNode } from '../kubectl.js';
import { allNodes, API_SERVER_PORT, type ClusterPlan, type NodePlan } from '../../model/plan.js';
import { counted } from '../../util/words.js';

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
function nodeSpec(plan: ClusterPlan, node: NodePlan, apiServerHostPort: number): NodeSpec {
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

/**
 * Creates and starts a node's container, its host ports pinned: every node is
 * made this way, by create and by kc create node alike.
 */
export async function createNodeContainer(
  engine: Provider,
  plan: ClusterPlan,
  node: NodePlan,
  apiServerHostPort: number,
  filesBeforeBoot: readonly ArchiveEntry[] = [],
): Promise<void> {
  const spec = nodeSpec(plan, node, apiServerHostPort);
  await engine.createNode({ ...spec, ports: await pinHostPorts(spec.ports) }, filesBeforeBoot);
}

/**
 * A node of a new cluster boots with all its files in place, and links that
 * start its units with systemd. Masters also get the admin kubeconfig, for
 * kubectl on a master (the pod network, add-ons, node changes): every master
 * has it, so another runs kubectl once the first is gone.
 */
async function startNode(ctx: CreateBase, plan: ClusterPlan, node: NodePlan, pki: ClusterPki, apiServerHostPort: number): Promise<void> {
  const boot = bootBundle(plan, node, pki);
  const admin = node.role === 'master' ? [{ path: ADMIN_KUBECONFIG_ON_NODE, content: adminKubeconfigOnNode(plan, pki), mode: 0o600 }] : [];
  const files: ArchiveEntry[] = [...boot.files, ...admin, ...boot.links];
  await createNodeContainer(ctx.engine, plan, node, apiServerHostPort, files);
  const atBoot = boot.links.map((link) => link.path.split('/').pop()).join(', ');
  const later = boot.startedLater.length > 0 ? `; later ${boot.startedLater.join(', ')}` : '';
  ctx.progress.detail(`${node.name}: ${counted(boot.files.length + admin.length, 'file')}; starts ${atBoot} as it boots${later}`);
}

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
    const results = await Promise.allSettled(allNodes(plan).map((node) => startNode(ctx, plan, node, pki, apiServerHostPort)));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    note(`${counted(plan.masters.length, 'master')}, ${counted(plan.workers.length, 'worker')}, lb on ${plan.spec.apiServerAddress}:${apiServerHostPort}`);
  },
};
