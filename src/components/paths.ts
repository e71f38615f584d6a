/** Where things live on a node. One table, so units, configs and the delivery code agree. */
export const PATHS = {
  bin: '/usr/local/bin',
  pki: '/etc/kubernetes/pki',
  etcdPki: '/etc/kubernetes/pki/etcd',
  kubeconfigs: '/etc/kubernetes',
  config: '/etc/kubernetes/config',
  etcdData: '/var/lib/etcd',
  kubeletDir: '/var/lib/kubelet',
  kubeProxyDir: '/var/lib/kube-proxy',
  containerdConfig: '/etc/containerd/config.toml',
  cniConfDir: '/etc/cni/net.d',
  cniBinDir: '/opt/cni/bin',
  haproxyConfig: '/etc/haproxy/haproxy.cfg',
  /** Image archives baked into the node image, imported into containerd when a worker starts. */
  imageArchives: '/kc/images',
} as const;
