import { DEFAULT_RELEASE } from '../artifacts/manifest.js';
import type { Addons, ClusterSpec, CniMode, NetworkPolicyMode, NodeExtras, NodeRole } from './types.js';

export const DEFAULT_CLUSTER_NAME = 'kc';
export const NODE_IMAGE_REPOSITORY = 'kc/node';
export const DEFAULT_NODE_IMAGE = nodeImageFor(DEFAULT_RELEASE.kubernetes);
/**
 * Where kc's release workflow publishes node images
 * (`<repository>:<version>-<recipe>`, see src/image/published.ts), and where
 * `kc create cluster` looks before it builds one. KC_NODE_IMAGE_REPOSITORY
 * names another (a fork's, a mirror's), or `none`.
 */
export const PUBLISHED_NODE_IMAGE_REPOSITORY = 'ghcr.io/kc-dev/kc-node';

/** The node image kc builds for a Kubernetes version (what `kubernetesVersion:` in a config file means). */
export function nodeImageFor(kubernetesVersion: string): string {
  return `${NODE_IMAGE_REPOSITORY}:${kubernetesVersion}`;
}

/** Every add-on, on. */
export const DEFAULT_ADDONS: Addons = { storage: true, metricsServer: true, registry: true, loadBalancer: true, ingress: true };

/** kind's documented local registry port: 5000 is often taken (macOS AirPlay, other registries). */
export const DEFAULT_REGISTRY_PORT = 5001;

/** The add-ons of a cluster created before kc had any: none (its state says nothing of them). */
export const NO_ADDONS: Addons = { storage: false, metricsServer: false, registry: false, loadBalancer: false, ingress: false };

/**
 * Where the ingress's host ports listen: this machine only, as the registry
 * and (by default) the API server do. The LoadBalancer address serves the
 * containers on the cluster network.
 */
export const INGRESS_LISTEN_ADDRESS = '127.0.0.1';

export function emptyNodeExtras(): NodeExtras {
  return { extraPortMappings: [], extraMounts: [] };
}

/** kube-router enforces policies beside kc's own bridge network only: Weave Net has weave-npc, `cni: none` leaves the network to you. */
export function defaultNetworkPolicy(cni: CniMode): NetworkPolicyMode {
  return cni === 'bridge' ? 'kube-router' : 'none';
}

export function defaultClusterSpec(overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  const cni = overrides.cni ?? 'bridge';
  return {
    name: DEFAULT_CLUSTER_NAME,
    controlPlanes: 2,
    workers: 2,
    nodeImage: DEFAULT_NODE_IMAGE,
    kubernetesVersion: DEFAULT_RELEASE.kubernetes,
    apiServerAddress: '127.0.0.1',
    apiServerPort: 0,
    podSubnet: '10.244.0.0/16',
    serviceSubnet: '10.96.0.0/16',
    cni,
    networkPolicy: defaultNetworkPolicy(cni),
    kubeProxyMode: 'iptables',
    featureGates: {},
    extraArgs: {},
    addons: { ...DEFAULT_ADDONS },
    registryPort: DEFAULT_REGISTRY_PORT,
    ingressPorts: { http: 0, https: 0 },
    engines: [],
    nodeExtras: { masters: [], workers: [] },
    retain: false,
    waitSeconds: 600,
    ...overrides,
  };
}

/** The engines other than the local one that run nodes of the cluster, in the spec's order. */
export function remoteEnginesInUse(spec: ClusterSpec): ClusterSpec['engines'] {
  const byRole = spec.nodeExtras as ClusterSpec['nodeExtras'] | undefined;
  const used = new Set([...(byRole?.masters ?? []), ...(byRole?.workers ?? [])].map((extras) => extras.engine));
  return (spec.engines ?? []).filter((engine) => used.has(engine.name));
}

/** Nodes on more than one engine: the cluster network is a swarm overlay (VXLAN) rather than a bridge. */
export function spansEngines(spec: ClusterSpec): boolean {
  return remoteEnginesInUse(spec).length > 0;
}

/**
 * A node's extras, empty when it has none. Tolerates specs saved by older kc
 * versions (cluster.json) that have no `nodeExtras` at all.
 */
export function nodeExtrasFor(spec: ClusterSpec, role: NodeRole, index: number): NodeExtras {
  if (role === 'lb') return emptyNodeExtras();
  const byRole = spec.nodeExtras as ClusterSpec['nodeExtras'] | undefined;
  return (role === 'master' ? byRole?.masters : byRole?.workers)?.[index] ?? emptyNodeExtras();
}
