/** Which pod network kc installs. `none` leaves it to the user (like kind's disableDefaultCNI). */
export type CniMode = 'weave' | 'bridge' | 'none';

/** What the user asks for: flags and (later) a config file resolve to this. */
export interface ClusterSpec {
  /** Cluster name: prefix of every container, network and volume kc creates. */
  name: string;
  /** Number of master nodes (etcd + control plane). */
  controlPlanes: number;
  /** Number of worker nodes (containerd, kubelet, kube-proxy). */
  workers: number;
  /** Node image to run, e.g. `kc/node:v1.37.2`. */
  nodeImage: string;
  /** Host address the API server is published on. */
  apiServerAddress: string;
  /** Host port the API server is published on; 0 picks a free port. */
  apiServerPort: number;
  /** Pod network range, split into one /24 per worker. */
  podSubnet: string;
  /** Service (ClusterIP) range; its first address is the `kubernetes` service. */
  serviceSubnet: string;
  cni: CniMode;
  /** Keep whatever was created when creation fails (for debugging). */
  retain: boolean;
  /** Seconds to wait for the cluster to become usable. */
  waitSeconds: number;
}

export type NodeRole = 'lb' | 'master' | 'worker';
