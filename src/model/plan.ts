import { requireRelease, type KubernetesRelease } from '../artifacts/manifest.js';
import { LOCAL_ENGINE, type ClusterSpec, type NodeRole } from '../config/types.js';
import { ADDRESS_OFFSET, LOAD_BALANCER_OFFSETS, MAX_CONTROL_PLANES, MAX_WORKERS, REGISTRY_ADDRESS_OFFSET } from '../config/limits.js';
import { formatCidr, nthAddress, nthSubnet, parseCidr } from '../util/ipv4.js';
import { nodeEngine } from './engines.js';

/** Port every API server listens on inside the cluster, and HAProxy on the lb node. */
export const API_SERVER_PORT = 6443;

/**
 * The ports HAProxy on the lb node takes ingress traffic on (HTTP, HTTPS):
 * the lb publishes them on the host's ingress ports (spec.ingressPorts) and
 * forwards them to the ingress controller (components/haproxy.ts).
 */
export const LB_INGRESS_PORTS = { http: 80, https: 443 } as const;

export { MAX_CONTROL_PLANES, MAX_WORKERS } from '../config/limits.js';

export interface NodePlan {
  /** Container name and hostname, e.g. `kc-master-0`; peers address each other by it. */
  name: string;
  role: NodeRole;
  index: number;
  ip: string;
  /** The worker's slice of the pod range (workers only). */
  podSubnet?: string;
  /** The Docker engine it runs on (a name from spec.engines); undefined: the one kc runs on. */
  engine?: string;
  /** Added to the running cluster by `kc create node` (a master then joins an existing etcd cluster). */
  joined?: boolean;
}

export interface ClusterPlan {
  spec: ClusterSpec;
  /**
   * The release the cluster runs (Kubernetes, etcd, CoreDNS, pause and the
   * add-ons' images), resolved once from spec.kubernetesVersion: nothing
   * below looks the version up again. Derived, so the state does not keep
   * it (see state/cluster-state.ts).
   */
  release: KubernetesRelease;
  network: { name: string; subnet: string; gateway: string };
  lb: NodePlan;
  masters: NodePlan[];
  workers: NodePlan[];
  /** The `kubernetes` service's ClusterIP: first address of the service range. */
  kubernetesServiceIP: string;
  /** CoreDNS's ClusterIP. */
  dnsServiceIP: string;
  /** API server URL as seen from inside the cluster network (through HAProxy). */
  internalApiServerUrl: string;
  clusterDomain: string;
}

/** The Docker network of a cluster. */
export function networkName(cluster: string): string {
  return `kc-${cluster}`;
}

/** The gateway (the host's side) of a cluster network: its first address. */
export function gatewayOf(nodeSubnet: string): string {
  return nthAddress(parseCidr(nodeSubnet), 1);
}

/** Where the nodes reach the registry: a fixed address on the cluster network, the same after restarts. */
export function registryAddress(plan: Pick<ClusterPlan, 'network'>): string {
  return nthAddress(parseCidr(plan.network.subnet), REGISTRY_ADDRESS_OFFSET);
}

/** The addresses LoadBalancer Services get: the top of the cluster network, above every node ("172.18.0.200-172.18.0.254"). */
export function loadBalancerRange(plan: Pick<ClusterPlan, 'network'>): string {
  const subnet = parseCidr(plan.network.subnet);
  return `${nthAddress(subnet, LOAD_BALANCER_OFFSETS.first)}-${nthAddress(subnet, LOAD_BALANCER_OFFSETS.last)}`;
}

/** The registry container of a host port: one per port, shared by the clusters that use that port. */
export function registryName(port: number): string {
  return `kc-registry-${port}`;
}

export function nodeName(cluster: string, role: NodeRole, index: number): string {
  return role === 'lb' ? `${cluster}-lb` : `${cluster}-${role}-${index}`;
}

/** Lays out the cluster on the given /24. Pure: the same inputs give the same plan. */
export function planCluster(spec: ClusterSpec, nodeSubnet: string): ClusterPlan {
  const subnet = parseCidr(nodeSubnet);
  if (subnet.prefix > 24) throw new Error(`node subnet ${nodeSubnet} is smaller than a /24`);
  const node = (role: NodeRole, index: number): NodePlan => ({
    name: nodeName(spec.name, role, index),
    role,
    index,
    ip: nthAddress(subnet, ADDRESS_OFFSET[role] + (role === 'lb' ? 0 : index)),
    ...(nodeEngine(spec, role, index) === undefined ? {} : { engine: nodeEngine(spec, role, index) }),
  });
  const pods = parseCidr(spec.podSubnet);
  const services = parseCidr(spec.serviceSubnet);
  const lb = node('lb', 0);
  return {
    spec,
    release: requireRelease(spec.kubernetesVersion),
    network: { name: networkName(spec.name), subnet: formatCidr(subnet), gateway: gatewayOf(formatCidr(subnet)) },
    lb,
    masters: Array.from({ length: spec.controlPlanes }, (_, i) => node('master', i)),
    workers: Array.from({ length: spec.workers }, (_, i) => ({
      ...node('worker', i),
      podSubnet: formatCidr(nthSubnet(pods, 24, i + 1)),
    })),
    kubernetesServiceIP: nthAddress(services, 1),
    dnsServiceIP: nthAddress(services, 10),
    internalApiServerUrl: `https://${lb.name}:${API_SERVER_PORT}`,
    clusterDomain: 'cluster.local',
  };
}

export function allNodes(plan: ClusterPlan): NodePlan[] {
  return [plan.lb, ...plan.masters, ...plan.workers];
}

/** A node kc can add to or remove from a running cluster (the lb is fixed for the cluster's life). */
export type ChangeableRole = Exclude<NodeRole, 'lb'>;

/** The role's nodes in a plan. */
export function nodesOf(plan: ClusterPlan, role: ChangeableRole): NodePlan[] {
  return role === 'master' ? plan.masters : plan.workers;
}

/** The lowest index no node of this role has: a removed node's slot (name, address, pod range) is reused. */
export function nextFreeIndex(plan: ClusterPlan, role: ChangeableRole): number {
  const taken = new Set(nodesOf(plan, role).map((n) => n.index));
  let index = 0;
  while (taken.has(index)) index += 1;
  return index;
}

/** How many nodes of a role the layout has room for (their addresses sit in fixed ranges of the /24). */
export function roleCapacity(role: ChangeableRole): number {
  return role === 'master' ? MAX_CONTROL_PLANES : MAX_WORKERS;
}

/**
 * The next free slot of `role` as a node that joins a running cluster (etcd
 * treats a new member differently from a founding one): its name, fixed
 * address, pod range and engine, which is the one the slot's config names
 * unless `engine` says another (`local`: the engine kc runs on). Pure;
 * throws when the role has no free slot.
 */
export function nextNode(plan: ClusterPlan, role: ChangeableRole, engine?: string): NodePlan {
  const index = nextFreeIndex(plan, role);
  if (index >= roleCapacity(role)) throw new Error(`a cluster has room for ${roleCapacity(role)} ${role}s`);
  const subnet = parseCidr(plan.network.subnet);
  const onEngine = engine === undefined ? nodeEngine(plan.spec, role, index) : engine === LOCAL_ENGINE ? undefined : engine;
  return {
    name: nodeName(plan.spec.name, role, index),
    role,
    index,
    ip: nthAddress(subnet, ADDRESS_OFFSET[role] + index),
    joined: true,
    ...(role === 'worker' ? { podSubnet: formatCidr(nthSubnet(parseCidr(plan.spec.podSubnet), 24, index + 1)) } : {}),
    ...(onEngine === undefined ? {} : { engine: onEngine }),
  };
}

/** The plan with `node` in its slot (nodes kept in slot order). Pure. */
export function withNode(plan: ClusterPlan, node: NodePlan): ClusterPlan {
  if (node.role === 'lb') throw new Error('internal: the lb is no node to add');
  const byIndex = (a: NodePlan, b: NodePlan) => a.index - b.index;
  const others = withNodeRemoved(plan, node.name);
  const masters = node.role === 'master' ? [...others.masters, node].sort(byIndex) : others.masters;
  const workers = node.role === 'worker' ? [...others.workers, node].sort(byIndex) : others.workers;
  return withNodes(plan, masters, workers);
}

/** The plan with one more node of `role`, in the next free slot (see nextNode). Pure. */
export function withNodeAdded(plan: ClusterPlan, role: ChangeableRole, engine?: string): { plan: ClusterPlan; node: NodePlan } {
  const node = nextNode(plan, role, engine);
  return { plan: withNode(plan, node), node };
}

/** The plan without the named master or worker. Pure. */
export function withNodeRemoved(plan: ClusterPlan, name: string): ClusterPlan {
  return withNodes(
    plan,
    plan.masters.filter((m) => m.name !== name),
    plan.workers.filter((w) => w.name !== name),
  );
}

/** The spec's counts follow the node lists, so that `kc get` and the state say what the cluster is now. */
function withNodes(plan: ClusterPlan, masters: NodePlan[], workers: NodePlan[]): ClusterPlan {
  return { ...plan, spec: { ...plan.spec, controlPlanes: masters.length, workers: workers.length }, masters, workers };
}

/** A master or worker of this plan by name; undefined for the lb or a stranger. */
export function findChangeableNode(plan: ClusterPlan, name: string): NodePlan | undefined {
  return [...plan.masters, ...plan.workers].find((n) => n.name === name);
}

/**
 * The plan of a cluster on another release: its Kubernetes version and node
 * image, and every master marked as joined (a replaced master's etcd joins
 * the members that run, as one `kc create node` adds). Pure.
 */
export function upgradedPlan(plan: ClusterPlan, kubernetesVersion: string, nodeImage: string): ClusterPlan {
  return {
    ...plan,
    spec: { ...plan.spec, kubernetesVersion, nodeImage },
    release: requireRelease(kubernetesVersion),
    masters: plan.masters.map((master) => ({ ...master, joined: true })),
  };
}
