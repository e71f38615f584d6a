import { PATHS } from './paths.js';

/** Files kubelet and kube-proxy on a worker read, by one name each. */
export const WORKER_FILES = {
  ca: `${PATHS.pki}/ca.crt`,
  kubeletConfig: `${PATHS.kubeletDir}/config.yaml`,
  kubeletKubeconfig: `${PATHS.kubeletDir}/kubeconfig`,
  kubeletCert: `${PATHS.kubeletDir}/pki/kubelet.crt`,
  kubeletKey: `${PATHS.kubeletDir}/pki/kubelet.key`,
  kubeProxyConfig: `${PATHS.kubeProxyDir}/config.yaml`,
  kubeProxyKubeconfig: `${PATHS.kubeProxyDir}/kubeconfig`,
} as const;
