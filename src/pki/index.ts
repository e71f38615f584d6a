export type { CertKey, ClusterPki } from './types.js';
export {
  createCertificateAuthority,
  issueCertificate,
  parseCertificate,
  DEFAULT_CA_VALIDITY_DAYS,
  DEFAULT_CERTIFICATE_VALIDITY_DAYS,
  type CertificateRequest,
  type CertificateSummary,
  type CertificateUsage,
} from './certs.js';
export {
  generateClusterPki,
  certificateKeyCount,
  apiServerSubjectAltNames,
  API_SERVER_KUBELET_CLIENT_USER,
  FRONT_PROXY_CLIENT_NAME,
  ENCRYPTION_KEY_BYTES,
} from './cluster-pki.js';
export {
  renderKubeconfig,
  mergeKubeconfig,
  removeFromKubeconfig,
  type KubeconfigEntry,
  type KubeconfigRemoval,
} from './kubeconfig.js';
export { renderEncryptionConfig } from './encryption.js';
