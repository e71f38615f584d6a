/** Which pod network kc installs. `none` leaves it to the user (like kind's disableDefaultCNI). */
export type CniMode = 'weave' | 'bridge' | 'none';

/**
 * What enforces NetworkPolicy beside kc's bridge network: kube-router's policy
 * controller, or nothing. Weave Net brings its own (weave-npc).
 */
export type NetworkPolicyMode = 'kube-router' | 'none';

/** kube-proxy's `mode`: how Service traffic is routed on each worker. */
export type KubeProxyMode = 'iptables' | 'ipvs' | 'nftables';

/** The components whose command-line flags a user can add to (config file key `extraArgs.<component>`). */
export type Component = 'apiserver' | 'controllerManager' | 'scheduler' | 'kubelet' | 'kubeProxy' | 'etcd';

/** Extra flags per component, without leading dashes: `{ apiserver: { v: '2' } }` means `--v=2`. */
export type ExtraArgs = Partial<Record<Component, Record<string, string>>>;

export type PortProtocol = 'TCP' | 'UDP' | 'SCTP';

/** A node container port published on the host (Docker's `-p listenAddress:hostPort:containerPort/protocol`). */
export interface PortMapping {
  containerPort: number;
  /** 0: kc picks a free port when it creates the node, and keeps it across restarts. */
  hostPort: number;
  /** Host address to listen on; `0.0.0.0` (the default, as in kind) is every address. */
  listenAddress: string;
  protocol: PortProtocol;
}

/** A host directory or file bind-mounted into a node container. Both paths are absolute. */
export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

/** What one node gets beyond kc's own setup. Every field is filled in (empty lists when unused). */
export interface NodeExtras {
  extraPortMappings: PortMapping[];
  extraMounts: Mount[];
  /** The engine the node runs on: a name from `engines`; undefined (or `local`) is the engine kc runs on. */
  engine?: string;
}

/** The name of the engine kc runs on (DOCKER_HOST, or the local socket) in `nodes[].engine`. */
export const LOCAL_ENGINE = 'local';

/** Another Docker engine nodes may run on (config file `engines`). */
export interface EngineSpec {
  /** What `nodes[].engine` calls it. */
  name: string;
  /** How kc reaches its API: `tcp://HOST:PORT`, `ssh://USER@HOST` or `unix:///PATH`. */
  host: string;
  /** The address the other engines reach it at, for the swarm; default: the host of a tcp:// address. */
  advertiseAddress?: string;
}

/**
 * Extras per node, by role and index: `masters[i]` belongs to `<name>-master-i`.
 * A list may be shorter than the node count (later nodes get no extras);
 * use `nodeExtrasFor()` from defaults.ts rather than indexing directly.
 */
export interface NodeExtrasByRole {
  masters: NodeExtras[];
  workers: NodeExtras[];
}

/**
 * The add-ons kc installs on a cluster, each on unless switched off (config
 * `addons: {metricsServer: false}`, flag `--disable metrics-server`):
 * `storage` is the default StorageClass `standard` (local-path-provisioner),
 * `metricsServer` the metrics API behind `kubectl top` and HPAs, `registry`
 * a registry on the host (`docker push localhost:5001/app`) that every node
 * pulls from, `loadBalancer` addresses for Services of `type: LoadBalancer`
 * (MetalLB) that the host reaches, `ingress` an Ingress and Gateway API
 * controller (Traefik) reached on host ports and its LoadBalancer address.
 * CoreDNS is not one of them: a cluster without DNS is not a cluster.
 */
export type Addon = 'storage' | 'metricsServer' | 'registry' | 'loadBalancer' | 'ingress';
export type Addons = Record<Addon, boolean>;

/** How `--disable` names each add-on (the config file uses the Addon keys). */
export const ADDON_FLAG_NAMES: Record<Addon, string> = {
  storage: 'storage',
  metricsServer: 'metrics-server',
  registry: 'registry',
  loadBalancer: 'load-balancer',
  ingress: 'ingress',
};

/** The host ports the ingress add-on is published on (`--ingress-port 80/443`); 0 picks a free one when the cluster is created. */
export interface IngressPorts {
  http: number;
  https: number;
}

/** What the user asks for: defaults, the config file and flags resolve to this. */
export interface ClusterSpec {
  /** Cluster name: prefix of every container, network and volume kc creates. */
  name: string;
  /** Number of master nodes (etcd + control plane). */
  controlPlanes: number;
  /** Number of worker nodes (containerd, kubelet, kube-proxy). */
  workers: number;
  /** Node image to run, e.g. `kc/node:v1.37.2`. */
  nodeImage: string;
  /**
   * The Kubernetes version the nodes run: it decides the pod images (pause,
   * CoreDNS) the nodes are configured with. Given by `--kubernetes-version`
   * (with the image kc/node:<version>); with `--image`, create takes it from
   * the image's label.
   */
  kubernetesVersion: string;
  /** Host address the API server is published on. */
  apiServerAddress: string;
  /** Host port the API server is published on; 0 picks a free port. */
  apiServerPort: number;
  /** Pod network range, split into one /24 per worker. */
  podSubnet: string;
  /** Service (ClusterIP) range; its first address is the `kubernetes` service. */
  serviceSubnet: string;
  cni: CniMode;
  /** `kube-router` (the default with the bridge network) enforces NetworkPolicy; `none` leaves policies unenforced. */
  networkPolicy: NetworkPolicyMode;
  kubeProxyMode: KubeProxyMode;
  /** Feature gates for every component (`--feature-gates` / the kubelet's `featureGates`); empty by default. */
  featureGates: Record<string, boolean>;
  /** Extra flags per component; they come after kc's own, so they win where both set one. Empty by default. */
  extraArgs: ExtraArgs;
  /** Which add-ons to install (all by default). */
  addons: Addons;
  /**
   * The host port of the registry (`localhost:<port>/image`); one registry per
   * port, shared by every cluster that names it (default 5001).
   */
  registryPort: number;
  /**
   * The host ports (on 127.0.0.1) the lb publishes the ingress on, HTTP and
   * HTTPS. 0 (the default) picks a free port when the cluster is created; the
   * cluster's state keeps the port it got. Read only with the ingress add-on.
   */
  ingressPorts: IngressPorts;
  /** Docker engines besides the one kc runs on, that nodes may name (empty by default: every node is local). */
  engines: EngineSpec[];
  /** Extra port mappings and mounts per node; empty lists by default. */
  nodeExtras: NodeExtrasByRole;
  /** Keep whatever was created when creation fails (for debugging). */
  retain: boolean;
  /** Seconds the cluster may take to come up, counted from when the node image is ready: one deadline for every wait in it (--wait). */
  waitSeconds: number;
}

export type NodeRole = 'lb' | 'master' | 'worker';

/** Part of a spec, as a config file or the flags give it: add-ons are switched one by one. */
export type ClusterSpecInput = Partial<Omit<ClusterSpec, 'addons'>> & { addons?: Partial<Addons> };
