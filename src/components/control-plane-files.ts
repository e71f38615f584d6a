import { trustedCaPem } from '../pki/ca-rotation.js';
import type { ClusterPki } from '../pki/types.js';
import { PATHS } from './paths.js';
import type { NodeFile } from './types.js';

/** Files the control-plane components on a master share, by one name each. */
export const MASTER_FILES = {
  /** Every CA the master trusts (two during a CA rotation, see pki/ca-rotation.ts). */
  ca: `${PATHS.pki}/ca.crt`,
  /** The CA that signs, alone: the controller-manager's signer takes exactly one certificate, the pair of ca.key. */
  caSigningCert: `${PATHS.pki}/ca-signing.crt`,
  caKey: `${PATHS.pki}/ca.key`,
  apiServerCert: `${PATHS.pki}/apiserver.crt`,
  apiServerKey: `${PATHS.pki}/apiserver.key`,
  kubeletClientCert: `${PATHS.pki}/apiserver-kubelet-client.crt`,
  kubeletClientKey: `${PATHS.pki}/apiserver-kubelet-client.key`,
  etcdClientCert: `${PATHS.pki}/apiserver-etcd-client.crt`,
  etcdClientKey: `${PATHS.pki}/apiserver-etcd-client.key`,
  frontProxyCa: `${PATHS.pki}/front-proxy-ca.crt`,
  frontProxyClientCert: `${PATHS.pki}/front-proxy-client.crt`,
  frontProxyClientKey: `${PATHS.pki}/front-proxy-client.key`,
  serviceAccountPublicKey: `${PATHS.pki}/service-account.pub`,
  serviceAccountPrivateKey: `${PATHS.pki}/service-account.key`,
  encryptionConfig: `${PATHS.config}/encryption-config.yaml`,
  controllerManagerKubeconfig: `${PATHS.kubeconfigs}/kube-controller-manager.kubeconfig`,
  schedulerKubeconfig: `${PATHS.kubeconfigs}/kube-scheduler.kubeconfig`,
  schedulerConfig: `${PATHS.config}/kube-scheduler.yaml`,
} as const;

/** Components on a master talk to their own API server: no hop through the lb, and it is up first. */
export const LOCAL_API_SERVER = 'https://127.0.0.1:6443';

export function secretFile(path: string, content: string): NodeFile {
  return { path, content, mode: 0o600 };
}

export function caFile(pki: ClusterPki): NodeFile {
  return { path: MASTER_FILES.ca, content: trustedCaPem(pki) };
}
