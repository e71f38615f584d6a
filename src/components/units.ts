/**
 * The systemd units kc's components run, by one name each. Components name
 * their units from here, and everything that has to know every unit (log
 * export, for one) reads KC_UNITS, so a new unit cannot be forgotten there.
 */
export const UNIT = {
  etcd: 'etcd.service',
  apiServer: 'kube-apiserver.service',
  controllerManager: 'kube-controller-manager.service',
  scheduler: 'kube-scheduler.service',
  containerd: 'containerd.service',
  importImages: 'kc-import-images.service',
  podNetwork: 'kc-pod-network.service',
  kubelet: 'kubelet.service',
  kubeProxy: 'kube-proxy.service',
  kubeRouter: 'kube-router.service',
  haproxy: 'haproxy.service',
} as const;

export type UnitName = (typeof UNIT)[keyof typeof UNIT];

/** Units that come with a Debian package in the node image (in /lib/systemd/system); kc writes every other one. */
export const PACKAGED_UNITS: readonly string[] = [UNIT.haproxy];

/** Every unit kc runs on any node, in the order a node starts them. */
export const KC_UNITS: readonly UnitName[] = [
  UNIT.etcd,
  UNIT.apiServer,
  UNIT.controllerManager,
  UNIT.scheduler,
  UNIT.containerd,
  UNIT.importImages,
  UNIT.podNetwork,
  UNIT.kubelet,
  UNIT.kubeProxy,
  UNIT.kubeRouter,
  UNIT.haproxy,
];
