/**
 * One node's container: what kc asks the engine for (its spec, its host
 * ports pinned), and taking it away again with its volume. Create, `kc create
 * node` and removal all go through here.
 */
import { freeTcpPort } from '../../util/net.js';
import { INGRESS_LISTEN_ADDRESS, nodeExtrasFor } from '../../config/defaults.js';
import type { NodeExtras } from '../../config/types.js';
import { type ArchiveEntry, type Nodes, type NodeSpec, type PublishedPort } from '../../provider/provider.js';
import { allNodes, API_SERVER_PORT, LB_INGRESS_PORTS, type ClusterPlan, type NodePlan } from '../../model/plan.js';
import { LOCAL_PATH_DIR } from '../../components/local-path-storage.js';

export function containerdVolume(node: NodePlan): string {
  return `${node.name}-containerd`;
}

/** Where a worker keeps its PersistentVolumes (the `standard` StorageClass): its own volume, as a disk of its own. */
export function localPathVolume(node: NodePlan): string {
  return `${node.name}-local-path`;
}

/** A worker's volumes: containerd's, and with the storage add-on its PersistentVolumes'. */
function workerVolumes(plan: ClusterPlan, node: NodePlan): NodeSpec['volumes'] {
  // containerd's overlayfs snapshots cannot live on the container's own overlay root.
  const volumes = [{ name: containerdVolume(node), path: '/var/lib/containerd' }];
  if (plan.spec.addons.storage) volumes.push({ name: localPathVolume(node), path: LOCAL_PATH_DIR });
  return volumes;
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

/**
 * What the lb publishes on the host: the API server, and with the ingress
 * add-on HAProxy's ingress ports (components/haproxy.ts) on the host's
 * ingress ports. The lb lives as long as the cluster: its ports never change.
 */
function lbPorts(plan: ClusterPlan, apiServerHostPort: number): PublishedPort[] {
  const apiServer: PublishedPort = { containerPort: API_SERVER_PORT, protocol: 'tcp', hostIp: plan.spec.apiServerAddress, hostPort: apiServerHostPort };
  if (!plan.spec.addons.ingress) return [apiServer];
  const ingress = (name: 'http' | 'https'): PublishedPort => ({
    containerPort: LB_INGRESS_PORTS[name],
    protocol: 'tcp',
    hostIp: INGRESS_LISTEN_ADDRESS,
    hostPort: plan.spec.ingressPorts[name],
  });
  return [apiServer, ingress('http'), ingress('https')];
}

/** What kc wants of one node; how the engine runs it is the provider's business. */
function nodeSpec(plan: ClusterPlan, node: NodePlan, apiServerHostPort: number): NodeSpec {
  const extras = extrasFor(nodeExtrasFor(plan.spec, node.role, node.index));
  const lb = node.role === 'lb' ? lbPorts(plan, apiServerHostPort) : [];
  return {
    name: node.name,
    ...(node.engine === undefined ? {} : { engine: node.engine }),
    cluster: plan.spec.name,
    role: node.role,
    image: plan.spec.nodeImage,
    network: plan.network.name,
    ip: node.ip,
    ports: [...extras.ports, ...lb],
    mounts: extras.mounts,
    volumes: node.role === 'worker' ? workerVolumes(plan, node) : [],
    peers: allNodes(plan).map((peer) => ({ name: peer.name, ip: peer.ip })),
  };
}

/** The same published port: what the node listens on, and where on the host. */
function samePort(a: PublishedPort, b: PublishedPort): boolean {
  return a.containerPort === b.containerPort && a.protocol === b.protocol && a.hostIp === b.hostIp;
}

/**
 * Host port 0 ("any free port") resolved to a concrete port now: the engine
 * would pick a new one each time the node restarts, breaking whatever points
 * at it. A node whose container is replaced keeps the ports its old one had.
 */
async function pinHostPorts(ports: PublishedPort[], kept: readonly PublishedPort[]): Promise<PublishedPort[]> {
  const pinned: PublishedPort[] = [];
  for (const port of ports) {
    if (port.hostPort !== 0) pinned.push(port);
    else pinned.push({ ...port, hostPort: kept.find((k) => samePort(k, port) && k.hostPort !== 0)?.hostPort ?? (await freeTcpPort(port.hostIp)) });
  }
  return pinned;
}

/**
 * Creates and starts a node's container, its host ports pinned (those of
 * `keptPorts`, the container it replaces, kept): every node is made this
 * way, by create, kc create node and kc upgrade cluster alike.
 */
export async function createNodeContainer(
  engine: Pick<Nodes, 'createNode'>,
  plan: ClusterPlan,
  node: NodePlan,
  apiServerHostPort: number,
  filesBeforeBoot: readonly ArchiveEntry[] = [],
  keptPorts: readonly PublishedPort[] = [],
): Promise<void> {
  const spec = nodeSpec(plan, node, apiServerHostPort);
  await engine.createNode({ ...spec, ports: await pinHostPorts(spec.ports, keptPorts) }, filesBeforeBoot);
}


/**
 * Removes a node's container and, for a worker, its volumes: its pulled
 * images and its PersistentVolumes' data go with it. Absent is fine; a
 * volume the engine keeps is an error (it would be left behind unseen).
 */
export async function removeNodeContainer(engine: Pick<Nodes, 'removeNode' | 'removeVolume'>, node: NodePlan): Promise<void> {
  await engine.removeNode(node);
  if (node.role !== 'worker') return;
  for (const volume of [containerdVolume(node), localPathVolume(node)]) await engine.removeVolume({ name: volume, engine: node.engine });
}
