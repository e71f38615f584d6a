import { generateKeyPair, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import type { ClusterPlan, NodePlan } from '../model/plan.js';
import { createCertificateAuthority, issueCertificate, type CertificateRequest } from './certs.js';
import type { CertKey, ClusterPki } from './types.js';

/**
 * The user name kube-apiserver presents to kubelets. kc binds the kubelet API
 * RBAC role to this user, so it must not double as a superuser identity
 * (hence no `system:masters` organization on that certificate).
 */
export const API_SERVER_KUBELET_CLIENT_USER = 'kube-apiserver';

/**
 * The name on the certificate the API servers present to aggregated API
 * servers (kubeadm's): they trust request headers only from this name.
 */
export const FRONT_PROXY_CLIENT_NAME = 'front-proxy-client';

/** aescbc accepts 16, 24 or 32 byte keys; kc uses the strongest. */
export const ENCRYPTION_KEY_BYTES = 32;

/**
 * Key pairs a cluster's certificates need: the CA, 8 cluster-wide
 * certificates, the front-proxy CA and its client, 2 per master, 1 per worker.
 */
export function certificateKeyCount(plan: ClusterPlan): number {
  return 11 + 2 * plan.masters.length + plan.workers.length;
}

/** Generates every certificate and key of a cluster, all signed by one new CA, the certificates in parallel. */
export async function generateClusterPki(plan: ClusterPlan): Promise<ClusterPki> {
  const serviceAccount = generateServiceAccountKeyPair();
  // The aggregation layer's own CA: aggregated API servers trust identity
  // headers only from clients it signed, so it must not be the cluster CA
  // (any cluster client certificate could then claim to be anyone).
  const [ca, frontProxyCa] = await Promise.all([
    createCertificateAuthority(`${plan.spec.name}-ca`),
    createCertificateAuthority(`${plan.spec.name}-front-proxy-ca`),
  ]);
  return {
    ca,
    frontProxyCa,
    ...(await issueLeaves(plan, ca, frontProxyCa)),
    serviceAccount: await serviceAccount,
    encryptionKey: randomBytes(ENCRYPTION_KEY_BYTES).toString('base64'),
  };
}

/** The certificates a cluster's CAs sign: every one of ClusterPki but the CAs, the service-account key pair and the encryption key. */
type LeafCertificates = Omit<ClusterPki, 'ca' | 'frontProxyCa' | 'serviceAccount' | 'encryptionKey'>;

/**
 * Issues every leaf certificate of the cluster: the one list of what a
 * cluster holds, shared by a new cluster and a rotation. `ownApiServerCert`
 * names the masters that joined later and have a serving certificate of their own.
 */
async function issueLeaves(plan: ClusterPlan, ca: CertKey, frontProxyCa: CertKey, ownApiServerCert: readonly string[] = []): Promise<LeafCertificates> {
  const client = (commonName: string, organization?: string): Promise<CertKey> => issueCertificate(ca, { commonName, organization, usage: 'client' });
  const issue = (request: CertificateRequest): Promise<CertKey> => issueCertificate(ca, request);
  const apiServerRequest: CertificateRequest = { commonName: 'kube-apiserver', usage: 'server', ...apiServerSubjectAltNames(plan) };
  const [admin, kubeControllerManager, kubeScheduler, kubeProxy, kubeRouter, apiServer, apiServerKubeletClient, etcdClient, frontProxyClient] =
    await Promise.all([
      client('admin', 'system:masters'),
      client('system:kube-controller-manager', 'system:kube-controller-manager'),
      client('system:kube-scheduler', 'system:kube-scheduler'),
      client('system:kube-proxy', 'system:node-proxier'),
      client('system:kube-router'),
      issue(apiServerRequest),
      client(API_SERVER_KUBELET_CLIENT_USER),
      client('kube-apiserver-etcd-client'),
      issueCertificate(frontProxyCa, { commonName: FRONT_PROXY_CLIENT_NAME, usage: 'client' }),
    ]);
  const [etcdServer, etcdPeer, kubelets, apiServerByNode] = await Promise.all([
    perNode(plan.masters, (master) => issue(etcdServerRequest(master))),
    perNode(plan.masters, (master) => issue(etcdPeerRequest(master))),
    perNode(plan.workers, (worker) => issue(kubeletRequest(worker))),
    perNode(plan.masters.filter((m) => ownApiServerCert.includes(m.name)), () => issue(apiServerRequest)),
  ]);
  return {
    admin,
    kubeControllerManager,
    kubeScheduler,
    kubeProxy,
    kubeRouter,
    apiServer,
    ...(ownApiServerCert.length > 0 ? { apiServerByNode } : {}),
    apiServerKubeletClient,
    etcdServer,
    etcdPeer,
    etcdClient,
    kubelets,
    frontProxyClient,
  };
}

/**
 * `kc rotate certificates`: every leaf certificate issued again by `pki.ca`
 * (and the front-proxy CA), for the same names, valid from now. The CAs, the service-account key
 * pair (tokens in use stay valid) and the encryption key (Secrets stay
 * readable) are kept. Old and new leaves are signed by the same CA, so nodes
 * holding either trust each other while the new ones are rolled out.
 */
export async function renewLeafCertificates(pki: ClusterPki, plan: ClusterPlan): Promise<ClusterPki> {
  // Everything but the leaves (the CAs, a CA rotation's record, the keys) is kept as it is.
  return { ...pki, ...(await issueLeaves(plan, pki.ca, pki.frontProxyCa, Object.keys(pki.apiServerByNode ?? {}))) };
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

/**
 * The certificates a node added to a running cluster needs, signed by the
 * cluster's CA: a master's etcd pair and its own API server serving
 * certificate (the shared one names only the founding masters), a worker's
 * kubelet pair. Everything cluster-wide is reused.
 */
export async function withNodePki(pki: ClusterPki, plan: ClusterPlan, node: NodePlan): Promise<ClusterPki> {
  const issue = (request: CertificateRequest): Promise<CertKey> => issueCertificate(pki.ca, request);
  if (node.role === 'worker') return { ...pki, kubelets: { ...pki.kubelets, [node.name]: await issue(kubeletRequest(node)) } };
  if (node.role !== 'master') throw new Error(`internal: no node certificates for a ${node.role}`);
  const [etcdServer, etcdPeer, apiServer] = await Promise.all([
    issue(etcdServerRequest(node)),
    issue(etcdPeerRequest(node)),
    issue({ commonName: 'kube-apiserver', usage: 'server', ...apiServerSubjectAltNames(plan) }),
  ]);
  return {
    ...pki,
    etcdServer: { ...pki.etcdServer, [node.name]: etcdServer },
    etcdPeer: { ...pki.etcdPeer, [node.name]: etcdPeer },
    apiServerByNode: { ...pki.apiServerByNode, [node.name]: apiServer },
  };
}

/**
 * The PKI without a removed node's certificates (they stay valid until they
 * expire: kc has no revocation list). A join taken back leaves it as it was
 * before: no empty record of masters that joined later.
 */
export function withoutNodePki(pki: ClusterPki, name: string): ClusterPki {
  const without = (record: Record<string, CertKey>) => Object.fromEntries(Object.entries(record).filter(([key]) => key !== name));
  const { apiServerByNode, ...rest } = pki;
  const joined = without(apiServerByNode ?? {});
  return {
    ...rest,
    etcdServer: without(pki.etcdServer),
    etcdPeer: without(pki.etcdPeer),
    kubelets: without(pki.kubelets),
    ...(Object.keys(joined).length > 0 ? { apiServerByNode: joined } : {}),
  };
}

/** The serving certificate of one master's API server: its own when it joined later, else the shared one. */
export function apiServerCertFor(pki: ClusterPki, master: NodePlan): CertKey {
  return pki.apiServerByNode?.[master.name] ?? pki.apiServer;
}

function etcdServerRequest(master: NodePlan): CertificateRequest {
  // Loopback lets etcdctl and health checks on the master itself connect without naming the node.
  return {
    commonName: master.name,
    usage: 'server-and-client',
    dnsNames: [master.name, 'localhost'],
    ipAddresses: [master.ip, '127.0.0.1'],
  };
}

function etcdPeerRequest(master: NodePlan): CertificateRequest {
  // Peers both dial and accept connections, so the one certificate needs both usages.
  return {
    commonName: master.name,
    usage: 'server-and-client',
    dnsNames: [master.name],
    ipAddresses: [master.ip],
  };
}

function kubeletRequest(worker: NodePlan): CertificateRequest {
  // The Node authorizer only recognizes kubelets by this exact CN/O pair.
  return {
    commonName: `system:node:${worker.name}`,
    organization: 'system:nodes',
    usage: 'server-and-client',
    dnsNames: [worker.name],
    ipAddresses: [worker.ip],
  };
}

/**
 * A bare key pair: service-account tokens are signed with it, and no
 * certificate is involved. RSA (RS256), which every token verifier accepts;
 * made on Node's thread pool while the certificates are signed.
 */
async function generateServiceAccountKeyPair(): Promise<ClusterPki['serviceAccount']> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

async function perNode(nodes: readonly NodePlan[], issue: (node: NodePlan) => Promise<CertKey>): Promise<Record<string, CertKey>> {
  return Object.fromEntries(await Promise.all(nodes.map(async (node) => [node.name, await issue(node)] as const)));
}
