import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { planCluster, withNodeAdded, type ClusterPlan } from '../../src/model/plan.js';
import { defaultClusterSpec } from '../../src/config/defaults.js';
import {
  API_SERVER_KUBELET_CLIENT_USER,
  apiServerSubjectAltNames,
  createCertificateAuthority,
  generateClusterPki,
  certificateKeyCount,
  DEFAULT_CERTIFICATE_VALIDITY_DAYS,
  FRONT_PROXY_CLIENT_NAME,
  issueCertificate,
  parseCertificate,
  type CertKey,
  type ClusterPki,
} from '../../src/pki/index.js';
import { certificateInventory, daysLeft, expiryWarning } from '../../src/pki/inventory.js';
import { withNodePki } from '../../src/pki/cluster-pki.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY_MS = 24 * 60 * 60_000;
const GENERATION_TIMEOUT_MS = 120_000;

// Node's X509Certificate and the openssl command read the certificates, not
// the library that wrote them, so the assertions do not just echo it back.
const x509 = (certPem: string) => new X509Certificate(certPem);

/** `openssl x509 -text`: what OpenSSL makes of every extension, criticality included. */
function opensslText(certPem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: certPem, encoding: 'utf8' });
}

/** One extension's lines in `openssl x509 -text`: its heading (with ", critical" when it is) and its value. */
function extensionText(certPem: string, heading: string): string {
  const lines = opensslText(certPem).split('\n').map((l) => l.trim());
  const at = lines.findIndex((l) => l.startsWith(heading));
  return at < 0 ? '' : `${lines[at]} ${lines[at + 1] ?? ''}`;
}

/** `O=system:masters\nCN=admin` → { O: ['system:masters'], CN: ['admin'] } */
function distinguishedName(text: string): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const line of text.split('\n').filter(Boolean)) {
    const [key = '', ...rest] = line.split('=');
    (fields[key] ??= []).push(rest.join('='));
  }
  return fields;
}

function subjectOf(certPem: string): Record<string, string[]> {
  return distinguishedName(x509(certPem).subject);
}

function altNamesOf(certPem: string): { dns: string[]; ip: string[] } {
  const entries = x509(certPem).subjectAltName?.split(', ') ?? [];
  return {
    dns: entries.filter((e) => e.startsWith('DNS:')).map((e) => e.slice('DNS:'.length)).sort(),
    ip: entries.filter((e) => e.startsWith('IP Address:')).map((e) => e.slice('IP Address:'.length)).sort(),
  };
}

function extKeyUsagesOf(certPem: string): string[] {
  return [...(x509(certPem).keyUsage ?? [])].sort();
}

function isSignedBy(leaf: CertKey, ca: CertKey): boolean {
  const caCert = x509(ca.certPem);
  const leafCert = x509(leaf.certPem);
  // checkIssued also compares the leaf's authority key identifier with the CA's.
  return leafCert.checkIssued(caCert) && leafCert.verify(caCert.publicKey);
}

function keyMatches(pair: CertKey): boolean {
  return x509(pair.certPem).checkPrivateKey(createPrivateKey(pair.keyPem));
}

function leafCertificates(pki: ClusterPki): Array<[string, CertKey]> {
  const perNode = (kind: string, record: Record<string, CertKey>) =>
    Object.entries(record).map(([node, pair]): [string, CertKey] => [`${kind}[${node}]`, pair]);
  return [
    ['admin', pki.admin],
    ['kubeControllerManager', pki.kubeControllerManager],
    ['kubeScheduler', pki.kubeScheduler],
    ['kubeProxy', pki.kubeProxy],
    ['kubeRouter', pki.kubeRouter],
    ['apiServer', pki.apiServer],
    ['apiServerKubeletClient', pki.apiServerKubeletClient],
    ['etcdClient', pki.etcdClient],
    ...perNode('etcdServer', pki.etcdServer),
    ...perNode('etcdPeer', pki.etcdPeer),
    ...perNode('kubelets', pki.kubelets),
  ];
}

describe('createCertificateAuthority', () => {
  let ca: CertKey;
  beforeAll(async () => {
    ca = await createCertificateAuthority('test-ca');
  });

  it('is a self-signed CA whose key matches', () => {
    const cert = x509(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=test-ca');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(keyMatches(ca)).toBe(true);
  });

  it('marks CA:true critical and may sign certificates and CRLs', () => {
    expect(extensionText(ca.certPem, 'X509v3 Basic Constraints')).toBe('X509v3 Basic Constraints: critical CA:TRUE');
    expect(extensionText(ca.certPem, 'X509v3 Key Usage')).toBe('X509v3 Key Usage: critical Digital Signature, Certificate Sign, CRL Sign');
    expect(extensionText(ca.certPem, 'X509v3 Subject Key Identifier')).toMatch(/^X509v3 Subject Key Identifier: [0-9A-F:]{59}$/);
  });

  it('is valid for the requested number of days', async () => {
    const summary = parseCertificate((await createCertificateAuthority('short-lived', 2)).certPem);
    const lifetimeDays = (summary.notAfter.getTime() - Date.now()) / DAY_MS;
    expect(lifetimeDays).toBeGreaterThan(1.99);
    expect(lifetimeDays).toBeLessThan(2.01);
  });
});

describe('issueCertificate', () => {
  let ca: CertKey;
  let otherCa: CertKey;
  beforeAll(async () => {
    ca = await createCertificateAuthority('test-ca');
    otherCa = await createCertificateAuthority('test-ca');
  });

  it('signs a leaf with the CA, with a matching ECDSA P-256 key', async () => {
    const leaf = await issueCertificate(ca, { commonName: 'leaf', usage: 'client' });
    expect(isSignedBy(leaf, ca)).toBe(true);
    expect(isSignedBy(leaf, otherCa)).toBe(false);
    expect(keyMatches(leaf)).toBe(true);
    const key = createPublicKey(x509(leaf.certPem).publicKey.export({ type: 'spki', format: 'pem' }));
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x509(leaf.certPem).ca).toBe(false);
    expect(opensslText(leaf.certPem)).toContain('Signature Algorithm: ecdsa-with-SHA256');
  });

  it('identifies the CA key as the authority key, so verifiers can tell same-named CAs apart', async () => {
    const leaf = await issueCertificate(ca, { commonName: 'leaf', usage: 'client' });
    const ski = extensionText(ca.certPem, 'X509v3 Subject Key Identifier').split(' ').pop();
    expect(ski).toMatch(/^[0-9A-F:]{59}$/);
    expect(extensionText(leaf.certPem, 'X509v3 Authority Key Identifier')).toContain(ski);
  });

  it('signs for a cluster made before kc used ECDSA: an RSA CA whose key is PKCS#1 PEM', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'kc-rsa-ca-'));
    try {
      const keyFile = join(folder, 'ca.key');
      execFileSync('openssl', ['genrsa', '-traditional', '-out', keyFile, '2048'], { stdio: 'ignore' });
      const certPem = execFileSync('openssl', ['req', '-x509', '-new', '-key', keyFile, '-subj', '/CN=old-ca', '-days', '2'], { encoding: 'utf8' });
      const rsaCa = { certPem, keyPem: readFileSync(keyFile, 'utf8') };
      expect(rsaCa.keyPem).toContain('BEGIN RSA PRIVATE KEY');
      const leaf = await issueCertificate(rsaCa, { commonName: 'system:node:late', usage: 'server-and-client', ipAddresses: ['10.0.0.9'] });
      expect(isSignedBy(leaf, rsaCa)).toBe(true);
      expect(opensslText(leaf.certPem)).toContain('Signature Algorithm: sha256WithRSAEncryption');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it.each([
    ['server', [SERVER_AUTH]],
    ['client', [CLIENT_AUTH]],
    ['server-and-client', [SERVER_AUTH, CLIENT_AUTH]],
  ] as const)('grants %s usage only, and a key that signs and nothing else', async (usage, expected) => {
    const leaf = await issueCertificate(ca, { commonName: 'leaf', usage });
    expect(extKeyUsagesOf(leaf.certPem)).toEqual([...expected].sort());
    expect(extensionText(leaf.certPem, 'X509v3 Key Usage')).toBe('X509v3 Key Usage: critical Digital Signature');
    expect(extensionText(leaf.certPem, 'X509v3 Basic Constraints')).toBe('X509v3 Basic Constraints: critical CA:FALSE');
  });

  it('writes subject, SANs without duplicates, and reads them back', async () => {
    const leaf = await issueCertificate(ca, {
      commonName: 'system:node:w-0',
      organization: 'system:nodes',
      dnsNames: ['w-0', 'localhost', 'w-0'],
      ipAddresses: ['10.0.0.7', '127.0.0.1', '10.0.0.7'],
      usage: 'server-and-client',
    });
    expect(subjectOf(leaf.certPem)).toEqual({ O: ['system:nodes'], CN: ['system:node:w-0'] });
    expect(altNamesOf(leaf.certPem)).toEqual({ dns: ['localhost', 'w-0'], ip: ['10.0.0.7', '127.0.0.1'] });
    const summary = parseCertificate(leaf.certPem);
    expect(summary.subject).toEqual({ commonName: 'system:node:w-0', organizations: ['system:nodes'] });
    expect(summary.issuer).toEqual({ commonName: 'test-ca', organizations: [] });
    expect(summary.dnsNames).toEqual(['w-0', 'localhost']);
    expect(summary.ipAddresses).toEqual(['10.0.0.7', '127.0.0.1']);
    expect(summary.extendedKeyUsages).toEqual(['serverAuth', 'clientAuth']);
    expect(summary.isCertificateAuthority).toBe(false);
  });

  it('carries names that PrintableString cannot (and a non-ASCII CA name) intact', async () => {
    const unicodeCa = await createCertificateAuthority('kc_test-ca Zürich');
    const leaf = await issueCertificate(unicodeCa, { commonName: 'user_1@example', usage: 'client' });
    expect(isSignedBy(leaf, unicodeCa)).toBe(true);
    expect(parseCertificate(leaf.certPem).subject.commonName).toBe('user_1@example');
    expect(parseCertificate(leaf.certPem).issuer.commonName).toBe('kc_test-ca Zürich');
  });

  it('omits the SAN extension when there are no names', async () => {
    const leaf = await issueCertificate(ca, { commonName: 'nameless', usage: 'client' });
    expect(x509(leaf.certPem).subjectAltName).toBeUndefined();
  });

  it('rejects SAN entries that are not IP addresses', async () => {
    await expect(issueCertificate(ca, { commonName: 'x', usage: 'server', ipAddresses: ['kc-lb'] })).rejects.toThrow(/not an IP address: kc-lb/);
  });

  it('is valid from a few minutes ago for 365 days by default', async () => {
    const before = Date.now();
    const summary = parseCertificate((await issueCertificate(ca, { commonName: 'x', usage: 'client' })).certPem);
    expect(summary.notBefore.getTime()).toBeLessThan(before - 60_000);
    expect(summary.notBefore.getTime()).toBeGreaterThan(before - 60 * 60_000);
    const lifetimeDays = (summary.notAfter.getTime() - before) / DAY_MS;
    expect(lifetimeDays).toBeGreaterThan(364.99);
    expect(lifetimeDays).toBeLessThan(365.01);
    await expect(issueCertificate(ca, { commonName: 'x', usage: 'client', validityDays: 0 })).rejects.toThrow(/positive/);
  });

  it('uses distinct positive, minimally encoded serial numbers', async () => {
    const leaves = await Promise.all(Array.from({ length: 4 }, () => issueCertificate(ca, { commonName: 'x', usage: 'client' })));
    const serials = leaves.map((leaf) => parseCertificate(leaf.certPem).serialNumber);
    expect(new Set(serials).size).toBe(serials.length);
    for (const serial of serials) {
      expect(serial).toMatch(/^[0-9a-f]{32}$/);
      const firstByte = Number.parseInt(serial.slice(0, 2), 16);
      expect(firstByte).toBeGreaterThan(0);
      expect(firstByte).toBeLessThan(0x80);
    }
  });
});

describe('generateClusterPki', () => {
  let plan: ClusterPlan;
  let pki: ClusterPki;

  beforeAll(async () => {
    plan = planCluster(defaultClusterSpec({ controlPlanes: 3, workers: 3 }), '172.30.5.0/24');
    pki = await generateClusterPki(plan);
  }, GENERATION_TIMEOUT_MS);

  it('gives every certificate a key pair of its own, as many as certificateKeyCount says', async () => {
    const small = planCluster(defaultClusterSpec({ controlPlanes: 1, workers: 1 }), '172.30.6.0/24');
    const result = await generateClusterPki(small);
    const pairs = [result.ca, result.frontProxyCa, result.frontProxyClient, ...leafCertificates(result).map(([, pair]) => pair)];
    const publicKeys = pairs.map((pair) => x509(pair.certPem).publicKey.export({ type: 'spki', format: 'pem' }));
    expect(new Set(publicKeys).size).toBe(certificateKeyCount(small));
  }, GENERATION_TIMEOUT_MS);

  it('has a CA that is a CA, and leaves that are not', () => {
    expect(x509(pki.ca.certPem).ca).toBe(true);
    expect(keyMatches(pki.ca)).toBe(true);
    for (const [name, pair] of leafCertificates(pki)) {
      expect(x509(pair.certPem).ca, name).toBe(false);
    }
  });

  it('signs every certificate with the cluster CA, each with its own matching key', () => {
    const leaves = leafCertificates(pki);
    expect(leaves).toHaveLength(8 + 3 + 3 + 3);
    for (const [name, pair] of leaves) {
      expect(isSignedBy(pair, pki.ca), name).toBe(true);
      expect(keyMatches(pair), name).toBe(true);
    }
    const keys = leaves.map(([, pair]) => pair.keyPem);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it.each([
    ['admin', 'admin', ['system:masters'], [CLIENT_AUTH]],
    ['kubeControllerManager', 'system:kube-controller-manager', ['system:kube-controller-manager'], [CLIENT_AUTH]],
    ['kubeScheduler', 'system:kube-scheduler', ['system:kube-scheduler'], [CLIENT_AUTH]],
    ['kubeProxy', 'system:kube-proxy', ['system:node-proxier'], [CLIENT_AUTH]],
    // No group: kc binds kube-router's read-only role to this user alone.
    ['kubeRouter', 'system:kube-router', undefined, [CLIENT_AUTH]],
    ['apiServer', 'kube-apiserver', undefined, [SERVER_AUTH]],
    ['apiServerKubeletClient', API_SERVER_KUBELET_CLIENT_USER, undefined, [CLIENT_AUTH]],
    ['etcdClient', 'kube-apiserver-etcd-client', undefined, [CLIENT_AUTH]],
  ] as const)('issues %s to CN=%s O=%s', (field, commonName, organizations, usages) => {
    const pair = pki[field];
    const expectedSubject: Record<string, string[]> = { CN: [commonName] };
    if (organizations) expectedSubject.O = [...organizations];
    expect(subjectOf(pair.certPem)).toEqual(expectedSubject);
    expect(extKeyUsagesOf(pair.certPem)).toEqual([...usages].sort());
  });

  it('gives the aggregation layer its own CA: the front-proxy client is signed by it, not by the cluster CA', () => {
    expect(x509(pki.frontProxyCa.certPem).ca).toBe(true);
    expect(keyMatches(pki.frontProxyCa)).toBe(true);
    expect(pki.frontProxyCa.certPem).not.toBe(pki.ca.certPem);
    expect(isSignedBy(pki.frontProxyClient, pki.frontProxyCa)).toBe(true);
    expect(isSignedBy(pki.frontProxyClient, pki.ca)).toBe(false);
    expect(keyMatches(pki.frontProxyClient)).toBe(true);
    expect(subjectOf(pki.frontProxyClient.certPem)).toEqual({ CN: [FRONT_PROXY_CLIENT_NAME] });
    expect(extKeyUsagesOf(pki.frontProxyClient.certPem)).toEqual([CLIENT_AUTH]);
  });

  it('lets the API servers authenticate to kubelets as the RBAC user kube-apiserver, not as a superuser', () => {
    expect(API_SERVER_KUBELET_CLIENT_USER).toBe('kube-apiserver');
    expect(subjectOf(pki.apiServerKubeletClient.certPem)).toEqual({ CN: ['kube-apiserver'] });
  });

  it('serves the API under every name clients dial', () => {
    const { dns, ip } = altNamesOf(pki.apiServer.certPem);
    expect(dns).toEqual(
      [
        'kc-lb',
        'kc-master-0',
        'kc-master-1',
        'kc-master-2',
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ].sort(),
    );
    expect(ip).toEqual(['10.96.0.1', '127.0.0.1', '172.30.5.10', '172.30.5.11', '172.30.5.12', '172.30.5.2'].sort());
    expect(ip).toContain(plan.kubernetesServiceIP);
    expect(ip).toContain(plan.lb.ip);
    for (const master of plan.masters) expect(ip).toContain(master.ip);
  });

  it('gives each master an etcd server and peer certificate for its own name and address', () => {
    expect(Object.keys(pki.etcdServer).sort()).toEqual(plan.masters.map((m) => m.name).sort());
    expect(Object.keys(pki.etcdPeer).sort()).toEqual(plan.masters.map((m) => m.name).sort());
    for (const master of plan.masters) {
      const server = pki.etcdServer[master.name]?.certPem ?? '';
      const peer = pki.etcdPeer[master.name]?.certPem ?? '';
      expect(subjectOf(server)).toEqual({ CN: [master.name] });
      expect(subjectOf(peer)).toEqual({ CN: [master.name] });
      expect(extKeyUsagesOf(server)).toEqual([SERVER_AUTH, CLIENT_AUTH].sort());
      expect(extKeyUsagesOf(peer)).toEqual([SERVER_AUTH, CLIENT_AUTH].sort());
      expect(altNamesOf(server)).toEqual({ dns: ['localhost', master.name].sort(), ip: ['127.0.0.1', master.ip].sort() });
      expect(altNamesOf(peer)).toEqual({ dns: [master.name], ip: [master.ip] });
    }
  });

  it('gives each worker a kubelet certificate the Node authorizer recognizes', () => {
    expect(Object.keys(pki.kubelets).sort()).toEqual(plan.workers.map((w) => w.name).sort());
    for (const worker of plan.workers) {
      const cert = pki.kubelets[worker.name]?.certPem ?? '';
      expect(subjectOf(cert)).toEqual({ O: ['system:nodes'], CN: [`system:node:${worker.name}`] });
      expect(extKeyUsagesOf(cert)).toEqual([SERVER_AUTH, CLIENT_AUTH].sort());
      expect(altNamesOf(cert)).toEqual({ dns: [worker.name], ip: [worker.ip] });
    }
  });

  it('has a service-account key pair that signs and verifies tokens', () => {
    const { publicKeyPem, privateKeyPem } = pki.serviceAccount;
    expect(publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(privateKeyPem).toMatch(/^-----BEGIN (RSA )?PRIVATE KEY-----\n/);
    const privateKey = createPrivateKey(privateKeyPem);
    expect(privateKey.asymmetricKeyType).toBe('rsa');
    expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const token = Buffer.from('header.payload');
    const signature = sign('sha256', token, privateKey);
    expect(verify('sha256', token, createPublicKey(publicKeyPem), signature)).toBe(true);
    expect(verify('sha256', token, x509(pki.ca.certPem).publicKey, signature)).toBe(false);
  });

  it('has a 32-byte encryption key', () => {
    const key = Buffer.from(pki.encryptionKey, 'base64');
    expect(key).toHaveLength(32);
    expect(key.toString('base64')).toBe(pki.encryptionKey);
  });

  it('generates fresh keys on every call', async () => {
    const small = planCluster(defaultClusterSpec({ controlPlanes: 1, workers: 1 }), '172.30.5.0/24');
    const again = await generateClusterPki(small);
    expect(again.ca.keyPem).not.toBe(pki.ca.keyPem);
    expect(again.ca.certPem).not.toBe(pki.ca.certPem);
    expect(again.admin.keyPem).not.toBe(pki.admin.keyPem);
    expect(again.serviceAccount.privateKeyPem).not.toBe(pki.serviceAccount.privateKeyPem);
    expect(again.encryptionKey).not.toBe(pki.encryptionKey);
    expect(isSignedBy(again.admin, pki.ca)).toBe(false);
  }, GENERATION_TIMEOUT_MS);
});

describe('API server SANs for the published address', () => {
  it('adds a published address that is not loopback, as an IP or a DNS name', () => {
    const byIp = apiServerSubjectAltNames(planCluster(defaultClusterSpec({ apiServerAddress: '192.168.1.20' }), '172.30.5.0/24'));
    expect(byIp.ipAddresses).toContain('192.168.1.20');
    const byName = apiServerSubjectAltNames(planCluster(defaultClusterSpec({ apiServerAddress: 'k8s.example.test' }), '172.30.5.0/24'));
    expect(byName.dnsNames).toContain('k8s.example.test');
    expect(byName.ipAddresses).not.toContain('k8s.example.test');
    const byLoopback = apiServerSubjectAltNames(planCluster(defaultClusterSpec(), '172.30.5.0/24'));
    expect(byLoopback.ipAddresses.filter((ip) => ip === '127.0.0.1')).toHaveLength(1);
  });
});

describe('the certificate inventory (kc get certificates, the expiry warning at start)', () => {
  let plan: ClusterPlan;
  let pki: ClusterPki;
  beforeAll(async () => {
    plan = planCluster(defaultClusterSpec({ controlPlanes: 2, workers: 2 }), '172.30.5.0/24');
    pki = await generateClusterPki(plan);
    // 16 key pairs: seconds on a busy runner.
  }, 30_000);

  it('lists every certificate once per holder, with its nodes, soonest to expire first', () => {
    const entries = certificateInventory(plan, pki);
    // A CA and the certificates kc counts for this plan, no more, no fewer.
    expect(entries).toHaveLength(certificateKeyCount(plan));
    const byName = (name: string) => entries.filter((e) => e.name === name);
    expect(byName('etcd-server').map((e) => e.nodes)).toEqual([['kc-master-0'], ['kc-master-1']]);
    expect(byName('kubelet').map((e) => e.subject)).toEqual(['system:node:kc-worker-0', 'system:node:kc-worker-1']);
    expect(byName('ca')[0]?.nodes).toEqual(['host', 'kc-master-0', 'kc-master-1', 'kc-worker-0', 'kc-worker-1']);
    expect(byName('kube-router')[0]?.nodes).toEqual(['kc-worker-0', 'kc-worker-1']);
    // Leaf certificates (a year) come before the CAs (ten years).
    expect(entries.slice(-2).map((e) => e.name).sort()).toEqual(['ca', 'front-proxy-ca']);
    const now = new Date();
    expect(daysLeft(entries[0]!, now)).toBeGreaterThanOrEqual(DEFAULT_CERTIFICATE_VALIDITY_DAYS - 1);
  });

  it('names a master added later by its own API server certificate', async () => {
    const { plan: grown, node } = withNodeAdded(plan, 'master');
    const entries = certificateInventory(grown, await withNodePki(pki, grown, node));
    expect(entries.filter((e) => e.name === 'kube-apiserver').map((e) => e.nodes)).toEqual([['kc-master-0', 'kc-master-1'], ['kc-master-2']]);
  });

  it('warns of certificates that expire within 30 days, and only then', () => {
    const entries = certificateInventory(plan, pki);
    expect(expiryWarning(entries, new Date(), 'kc')).toBeUndefined();
    const lateInTheYear = new Date(Date.now() + (DEFAULT_CERTIFICATE_VALIDITY_DAYS - 10) * 86_400_000);
    const warning = expiryWarning(entries, lateInTheYear, 'kc');
    expect(warning).toMatch(/^certificates of cluster "kc" expire within 30 days: /);
    expect(warning).toContain('kubelet (kc-worker-0): 9 days left');
    expect(warning).toContain('kc get certificates --name kc');
    expect(warning).not.toContain('front-proxy-ca');
    const afterExpiry = new Date(Date.now() + (DEFAULT_CERTIFICATE_VALIDITY_DAYS + 1) * 86_400_000);
    expect(expiryWarning(entries, afterExpiry, 'kc')).toContain('admin (host, kc-master-0, kc-master-1): expired');
  });
});
