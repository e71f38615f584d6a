import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { ClusterPlan, NodePlan } from '../cluster/plan.js';
import { createCertificateAuthority, issueCertificate } from './certs.js';
import type { CertKey, ClusterPki } from './types.js';

/**
 * The user name kube-apiserver presents to kubelets. kc binds the kubelet API
 * RBAC role to this user, so it must not double as a superuser identity
 * (hence no `system:masters` organization on that certificate).
 */
export const API_SERVER_KUBELET_CLIENT_USER = 'kube-apiserver';

/** aescbc accepts 16, 24 or 32 byte keys; kc uses the strongest. */
export const ENCRYPTION_KEY_BYTES = 32;

/** Generates every certificate and key of a cluster, all signed by one new CA. */
export function generateClusterPki(plan: ClusterPlan): ClusterPki {
  const ca = createCertificateAuthority(`${plan.spec.name}-ca`);
  const client = (commonName: string, organization?: string): CertKey =>
    issueCertificate(ca, { commonName, organization, usage: 'client' });

  return {
    ca,
    admin: client('admin', 'system:masters'),
    kubeControllerManager: client('system:kube-controller-manager', 'system:kube-controller-manager'),
    kubeScheduler: client('system:kube-scheduler', 'system:kube-scheduler'),
    kubeProxy: client('system:kube-proxy', 'system:node-proxier'),
    apiServer: issueCertificate(ca, { commonName: 'kube-apiserver', usage: 'server', ...apiServerSubjectAltNames(plan) }),
    apiServerKubeletClient: client(API_SERVER_KUBELET_CLIENT_USER),
    serviceAccount: generateServiceAccountKeyPair(),
    etcdServer: perNode(plan.masters, (master) => issueEtcdServerCertificate(ca, master)),
    etcdPeer: perNode(plan.masters, (master) => issueEtcdPeerCertificate(ca, master)),
    etcdClient: client('kube-apiserver-etcd-client'),
    kubelets: perNode(plan.workers, (worker) => issueKubeletCertificate(ca, worker)),
    encryptionKey: randomBytes(ENCRYPTION_KEY_BYTES).toString('base64'),
  };
}

/**
 * Every name a client may dial the API server by: the lb (from inside the
 * cluster network), each master directly, loopback (from the masters
 * themselves and the published port on the host), and the `kubernetes`
 * service (from pods).
 */
export function apiServerSubjectAltNames(plan: ClusterPlan): { dnsNames: string[]; ipAddresses: string[] } {
  const serviceNames = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${plan.clusterDomain}`];
  const nodes = [plan.lb, ...plan.masters];
  const names = [...nodes.map((n) => n.name), 'localhost', ...serviceNames];
  const addresses = [...nodes.map((n) => n.ip), '127.0.0.1', plan.kubernetesServiceIP];
  // The published address is normally an IP, but a host name is just as valid to dial.
  if (isIP(plan.spec.apiServerAddress) === 0) names.push(plan.spec.apiServerAddress);
  else addresses.push(plan.spec.apiServerAddress);
  return { dnsNames: [...new Set(names)], ipAddresses: [...new Set(addresses)] };
}

function issueEtcdServerCertificate(ca: CertKey, master: NodePlan): CertKey {
  // Loopback lets etcdctl and health checks on the master itself connect without naming the node.
  return issueCertificate(ca, {
    commonName: master.name,
    usage: 'server-and-client',
    dnsNames: [master.name, 'localhost'],
    ipAddresses: [master.ip, '127.0.0.1'],
  });
}

function issueEtcdPeerCertificate(ca: CertKey, master: NodePlan): CertKey {
  // Peers both dial and accept connections, so the one certificate needs both usages.
  return issueCertificate(ca, {
    commonName: master.name,
    usage: 'server-and-client',
    dnsNames: [master.name],
    ipAddresses: [master.ip],
  });
}

function issueKubeletCertificate(ca: CertKey, worker: NodePlan): CertKey {
  // The Node authorizer only recognizes kubelets by this exact CN/O pair.
  return issueCertificate(ca, {
    commonName: `system:node:${worker.name}`,
    organization: 'system:nodes',
    usage: 'server-and-client',
    dnsNames: [worker.name],
    ipAddresses: [worker.ip],
  });
}

/** A bare key pair: service-account tokens are signed with it, and no certificate is involved. */
function generateServiceAccountKeyPair(): ClusterPki['serviceAccount'] {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

function perNode(nodes: readonly NodePlan[], issue: (node: NodePlan) => CertKey): Record<string, CertKey> {
  return Object.fromEntries(nodes.map((node) => [node.name, issue(node)]));
}
