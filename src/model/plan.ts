import type { ClusterSpec, NodeRole } from '../config/types.js';
import { ADDRESS_OFFSET } from '../config/limits.js';
import { formatCidr, nthAddress, nthSubnet, parseCidr } from '../util/ipv4.js';
import { nodeEngine } from './engines.js';

/** Port every API server listens on inside the cluster, and HAProxy on the lb node. */
export const API_SERVER_PORT = 6443;

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
}

export interface ClusterPlan {
  spec: ClusterSpec;
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
