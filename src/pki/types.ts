/** A certificate and its private key, PEM-encoded. */
export interface CertKey {
  certPem: string;
  keyPem: string;
}

/**
 * Everything secret a cluster needs. Generated once per cluster by
 * `generateClusterPki`, stored under kc's state directory (mode 0600), and
 * handed out piecemeal: each node receives only the parts it needs.
 */
export interface ClusterPki {
  /** The cluster CA: it signs every certificate below, and every component trusts it. */
  ca: CertKey;
  /**
   * Only while `kc rotate certificates --ca` is under way: the other CA every
   * component trusts besides `ca`. First the next CA (trusted before anything
   * is signed by it), then, once it signs, the previous one (trusted until
   * every node holds certificates of the next). See pki/ca-rotation.ts.
   */
  overlapCa?: CertKey;
  /** SHA-256 fingerprints of the CAs a CA rotation retired: snapshots taken under them are still this cluster's. */
  retiredCaFingerprints?: string[];
  /** CN=admin, O=system:masters: the user kc writes into the user's kubeconfig. */
  admin: CertKey;
  /** CN=system:kube-controller-manager. */
  kubeControllerManager: CertKey;
  /** CN=system:kube-scheduler. */
  kubeScheduler: CertKey;
  /** CN=system:kube-proxy, O=system:node-proxier. */
  kubeProxy: CertKey;
  /** CN=system:kube-router: kube-router's policy controller on the workers (read-only RBAC). */
  kubeRouter: CertKey;
  /** Serving certificate of every kube-apiserver (SANs: lb, masters, 127.0.0.1, localhost, service IP, kubernetes.*). */
  apiServer: CertKey;
  /** Serving certificates of masters added later (`kc create node --role master`), keyed by node name: the shared one does not name them. */
  apiServerByNode?: Record<string, CertKey>;
  /** Client certificate the API servers present to kubelets (CN=kube-apiserver). */
  apiServerKubeletClient: CertKey;
  /** Key pair that signs and verifies service-account tokens. */
  serviceAccount: { publicKeyPem: string; privateKeyPem: string };
  /** etcd serving certificate per master, keyed by node name. */
  etcdServer: Record<string, CertKey>;
  /** etcd peer certificate per master, keyed by node name. */
  etcdPeer: Record<string, CertKey>;
  /** Client certificate for etcd (used by kube-apiserver and etcdctl). */
  etcdClient: CertKey;
  /** Kubelet certificate per worker, keyed by node name (client and serving). */
  kubelets: Record<string, CertKey>;
  /** The aggregation layer's CA (kubeadm's front-proxy-ca): aggregated API servers trust request headers signed by it only. */
  frontProxyCa: CertKey;
  /** CN=front-proxy-client, signed by frontProxyCa: what the API servers present when proxying to aggregated APIs. */
  frontProxyClient: CertKey;
  /** 32 random bytes, base64: the key of the encryption-at-rest provider. */
  encryptionKey: string;
}
