import { createPrivateKey, X509Certificate } from 'node:crypto';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RELEASE, podImagesFor } from '../../src/artifacts/manifest.js';

const POD_IMAGES = podImagesFor(DEFAULT_RELEASE);
import { allNodes, planCluster, type ClusterPlan, type NodePlan } from '../../src/model/plan.js';
import { apiServerBundle } from '../../src/components/apiserver.js';
import { boundaryRuleset } from '../../src/components/boundary.js';
import { podRoutes, renderBridgeConflist } from '../../src/components/cni-bridge.js';
import { controllerManagerBundle } from '../../src/components/controller-manager.js';
import { coreDnsManifest } from '../../src/components/coredns.js';
import { etcdBundle } from '../../src/components/etcd.js';
import { apiClientUnits, bootBundle, lbBundle, masterBundle, workerBundle } from '../../src/components/index.js';
import { kubeRouterRbac } from '../../src/components/kube-router.js';
import { kubeletBundle } from '../../src/components/kubelet.js';
import { kubeProxyBundle } from '../../src/components/kube-proxy.js';
import { apiServerToKubeletRbac } from '../../src/components/rbac.js';
import { schedulerBundle } from '../../src/components/scheduler.js';
import { mergeBundles, SYSTEMD_UNIT_DIR, type ComponentBundle, type NodeFile } from '../../src/components/types.js';
import { KC_UNITS } from '../../src/components/units.js';
import { defaultClusterSpec } from '../../src/config/defaults.js';
import type { CniMode } from '../../src/config/types.js';
import { generateClusterPki, type CertKey, type ClusterPki } from '../../src/pki/index.js';

// Non-default names and ranges, so that a renderer using a default instead of the plan shows.
const NODE_SUBNET = '172.30.7.0/24';
const specFor = (cni: CniMode = 'bridge') =>
  defaultClusterSpec({ name: 'demo', controlPlanes: 3, workers: 2, podSubnet: '10.200.0.0/16', serviceSubnet: '10.32.0.0/16', cni });
const MASTER_NAMES = ['demo-master-0', 'demo-master-1', 'demo-master-2'];
const PKI_TIMEOUT_MS = 120_000;
const MODE_SECRET = 0o600;
const CNI_CONFLIST = '/etc/cni/net.d/10-kc-bridge.conflist';

// ---- reading what the renderers produce, independently of how they produce it ----

const textOf = (file: NodeFile): string => (typeof file.content === 'string' ? file.content : file.content.toString('utf8'));

/** The file at `path`; several entries for one path (merged bundles) must agree, which another test checks. */
function fileAt(bundle: ComponentBundle, path: string): NodeFile {
  const file = bundle.files.find((f) => f.path === path);
  if (!file) throw new Error(`no file ${path} among ${bundle.files.map((f) => f.path).join(', ')}`);
  return file;
}

const textAt = (bundle: ComponentBundle, path: string): string => textOf(fileAt(bundle, path));
const unitText = (bundle: ComponentBundle, unit: string): string => textAt(bundle, `${SYSTEMD_UNIT_DIR}/${unit}`);
const yamlAt = <T>(bundle: ComponentBundle, path: string): T => parse(textAt(bundle, path)) as T;

/** Values of a `Key=` directive in a unit; list directives (After=, Requires=) are split on spaces. */
function directive(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .flatMap((line) => line.slice(key.length + 1).split(' '));
}

/** ExecStart's words, following `\` line continuations. */
function execStart(unit: string): string[] {
  const lines = unit.split('\n');
  const start = lines.findIndex((line) => line.startsWith('ExecStart='));
  if (start < 0) throw new Error(`no ExecStart in:\n${unit}`);
  const words: string[] = [];
  for (const raw of lines.slice(start)) {
    const line = raw.replace(/^ExecStart=/, '').trim();
    const continued = line.endsWith('\\');
    words.push(continued ? line.slice(0, -1).trim() : line);
    if (!continued) break;
  }
  return words;
}

/** The `--name=value` flags of a unit's command; a flag given twice is an error. */
function commandFlags(unit: string): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const arg of execStart(unit).slice(1)) {
    const match = /^--([a-z0-9-]+)=(.*)$/.exec(arg);
    if (!match?.[1] || match[2] === undefined) throw new Error(`not a --flag=value argument: ${arg}`);
    if (match[1] in flags) throw new Error(`flag given twice: --${match[1]}`);
    flags[match[1]] = match[2];
  }
  return flags;
}

const flagsOf = (bundle: ComponentBundle, unit: string) => commandFlags(unitText(bundle, unit));

interface Kubeconfig {
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

function kubeconfigAt(bundle: ComponentBundle, path: string): Kubeconfig {
  const doc = yamlAt<{
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { 'client-certificate-data': string; 'client-key-data': string } }>;
  }>(bundle, path);
  const decode = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');
  const cluster = doc.clusters[0]?.cluster;
  const user = doc.users[0]?.user;
  return {
    server: cluster?.server ?? '',
    caPem: decode(cluster?.['certificate-authority-data']),
    certPem: decode(user?.['client-certificate-data']),
    keyPem: decode(user?.['client-key-data']),
  };
}

/** The kubeconfig authenticates as `identity` against `server`, trusting the cluster CA. */
function expectKubeconfig(bundle: ComponentBundle, path: string, server: string, identity: CertKey, pki: ClusterPki): void {
  expect(kubeconfigAt(bundle, path)).toEqual({ server, caPem: pki.ca.certPem, certPem: identity.certPem, keyPem: identity.keyPem });
}

/** Lines of a TOML table, from its `[header]` to the next table. */
function tomlTable(toml: string, header: string): string[] {
  const lines = toml.split('\n');
  const start = lines.indexOf(`[${header}]`);
  if (start < 0) throw new Error(`no [${header}] table`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => line.startsWith('['));
  return (end < 0 ? rest : rest.slice(0, end)).map((line) => line.trim()).filter(Boolean);
}

const subjectOf = (certPem: string) => new X509Certificate(certPem).subject;
const nodeNamed = (nodes: NodePlan[], name: string): NodePlan => {
  const node = nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no node ${name}`);
  return node;
};

// ---- the cluster as kc renders it, node by node (the same composition as src/cluster/actions) ----

function fullMasterBundle(plan: ClusterPlan, master: NodePlan, pki: ClusterPki): ComponentBundle {
  return mergeBundles(etcdBundle(plan, master, pki), masterBundle(plan, master, pki));
}

/** Each node's files, and its units: first those it starts as it boots, then those kc starts later. */
function renderCluster(plan: ClusterPlan, pki: ClusterPki): Record<string, ComponentBundle> {
  return Object.fromEntries(
    allNodes(plan).map((node) => {
      const boot = bootBundle(plan, node, pki);
      return [node.name, { files: boot.files, units: [...boot.links.map((l) => l.path.split('/').pop() ?? ''), ...boot.startedLater] }];
    }),
  );
}

/** Private key material: PEM keys, kubeconfigs with embedded client keys, the encryption-at-rest key. */
function holdsSecret(file: NodeFile): boolean {
  const text = textOf(file);
  return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) || /client-key-data:/.test(text) || /kind: EncryptionConfiguration/.test(text);
}

let plan: ClusterPlan;
let pki: ClusterPki;
let master0: NodePlan;
let worker0: NodePlan;

beforeAll(async () => {
  plan = planCluster(specFor(), NODE_SUBNET);
  pki = await generateClusterPki(plan);
  master0 = nodeNamed(plan.masters, 'demo-master-0');
  worker0 = nodeNamed(plan.workers, 'demo-worker-0');
}, PKI_TIMEOUT_MS);

describe('rendering as a whole', () => {
  it('gives identical files (paths, modes, contents) and units for the same plan and PKI', () => {
    const first = renderCluster(plan, pki);
    const second = renderCluster(planCluster(specFor(), NODE_SUBNET), pki);
    expect(Object.keys(first)).toEqual(['demo-lb', ...MASTER_NAMES, 'demo-worker-0', 'demo-worker-1']);
    expect(second).toEqual(first);
    expect(coreDnsManifest(plan)).toBe(coreDnsManifest(planCluster(specFor(), NODE_SUBNET)));
    expect(apiServerToKubeletRbac()).toBe(apiServerToKubeletRbac());
  });

  it('renders node-specific files differently per node', () => {
    const bundles = renderCluster(plan, pki);
    const etcdUnit = (name: string) => unitText(bundles[name] ?? { files: [], units: [] }, 'etcd.service');
    expect(etcdUnit('demo-master-0')).not.toBe(etcdUnit('demo-master-1'));
    const kubeletConfig = (name: string) => textAt(bundles[name] ?? { files: [], units: [] }, '/var/lib/kubelet/config.yaml');
    expect(kubeletConfig('demo-worker-0')).not.toBe(kubeletConfig('demo-worker-1'));
  });

  it('writes a path more than once on a node only with the same content and mode', () => {
    for (const [node, bundle] of Object.entries(renderCluster(plan, pki))) {
      const byPath = new Map<string, NodeFile>();
      for (const file of bundle.files) {
        const earlier = byPath.get(file.path);
        if (earlier) expect({ content: textOf(file), mode: file.mode }, `${node}:${file.path}`).toEqual({ content: textOf(earlier), mode: earlier.mode });
        byPath.set(file.path, file);
      }
    }
  });

  it('lists in KC_UNITS exactly the units some node starts, whatever the pod network', () => {
    const started = new Set<string>();
    for (const cni of ['bridge', 'weave', 'none'] as const) {
      const cniPlan = planCluster(specFor(cni), NODE_SUBNET);
      for (const bundle of Object.values(renderCluster(cniPlan, pki))) for (const unit of bundle.units) started.add(unit);
    }
    expect(started.has('kc-pod-network.service')).toBe(true);
    expect([...KC_UNITS].sort()).toEqual([...started].sort());
  });

  it('ships a unit file for every unit it starts, except the lb\'s haproxy.service (Debian\'s)', () => {
    for (const [node, bundle] of Object.entries(renderCluster(plan, pki))) {
      const shipped = bundle.files.filter((f) => f.path.startsWith(`${SYSTEMD_UNIT_DIR}/`)).map((f) => f.path.slice(SYSTEMD_UNIT_DIR.length + 1));
      const expected = node === 'demo-lb' ? bundle.units.filter((u) => u !== 'haproxy.service') : bundle.units;
      expect(new Set(shipped), node).toEqual(new Set(expected));
    }
  });

  it('starts units in dependency order: with the node what needs no API server, the API server\'s clients once it is ready', () => {
    const bundles = renderCluster(plan, pki);
    expect(bundles['demo-master-0']?.units).toEqual([
      'etcd.service', 'kc-pod-network.service', 'kube-apiserver.service', 'kube-proxy.service', 'kube-controller-manager.service', 'kube-scheduler.service',
    ]);
    expect(bundles['demo-worker-0']?.units).toEqual([
      'containerd.service', 'kc-import-images.service', 'kc-pod-network.service', 'kubelet.service', 'kube-proxy.service', 'kube-router.service',
    ]);
    expect(bundles['demo-lb']?.units).toEqual(['kc-pod-network.service', 'haproxy.service']);
  });

  it('boots each node with links that enable its own units, where systemd finds them, and leaves the rest to kc', () => {
    const wants = `${SYSTEMD_UNIT_DIR}/multi-user.target.wants`;
    const links = (node: NodePlan) => Object.fromEntries(bootBundle(plan, node, pki).links.map((l) => [l.path, l.target]));
    // HAProxy's unit is Debian's; kc's own units are where kc writes them.
    expect(links(plan.lb)).toEqual({
      [`${wants}/kc-pod-network.service`]: `${SYSTEMD_UNIT_DIR}/kc-pod-network.service`,
      [`${wants}/haproxy.service`]: '/lib/systemd/system/haproxy.service',
    });
    expect(Object.keys(links(master0))).not.toContain(`${wants}/kube-scheduler.service`);
    expect(bootBundle(plan, master0, pki).startedLater).toEqual(['kube-controller-manager.service', 'kube-scheduler.service']);
    expect(bootBundle(plan, worker0, pki).startedLater).toEqual(apiClientUnits(plan));
    for (const node of allNodes(plan)) {
      const shipped = new Set(bootBundle(plan, node, pki).files.map((f) => f.path));
      for (const target of Object.values(links(node)).filter((t) => t.startsWith(SYSTEMD_UNIT_DIR))) expect(shipped, node.name).toContain(target);
    }
  });
});

describe('file modes and who gets secrets', () => {
  it('writes every file holding private key material with mode 0600, scripts 0755, and everything else with the default', () => {
    const expectedMode = (file: NodeFile) => (holdsSecret(file) ? MODE_SECRET : file.path.endsWith('.sh') ? 0o755 : undefined);
    for (const [node, bundle] of Object.entries(renderCluster(plan, pki))) {
      for (const file of bundle.files) {
        expect(file.mode, `${node}:${file.path}`).toBe(expectedMode(file));
      }
    }
  });

  it('classifies exactly the expected files as secret on a master and a worker', () => {
    const secretPaths = (bundle: ComponentBundle) => [...new Set(bundle.files.filter((f) => f.mode === MODE_SECRET).map((f) => f.path))].sort();
    expect(secretPaths(fullMasterBundle(plan, master0, pki))).toEqual(
      [
        '/etc/kubernetes/pki/etcd/server.key',
        '/etc/kubernetes/pki/etcd/peer.key',
        '/etc/kubernetes/pki/apiserver.key',
        '/etc/kubernetes/pki/apiserver-kubelet-client.key',
        '/etc/kubernetes/pki/apiserver-etcd-client.key',
        '/etc/kubernetes/pki/service-account.key',
        '/etc/kubernetes/pki/ca.key',
        '/etc/kubernetes/config/encryption-config.yaml',
        '/etc/kubernetes/kube-controller-manager.kubeconfig',
        '/etc/kubernetes/kube-scheduler.kubeconfig',
        '/etc/kubernetes/pki/front-proxy-client.key',
        '/var/lib/kube-proxy/kubeconfig',
      ].sort(),
    );
    expect(secretPaths(workerBundle(plan, worker0, pki))).toEqual(
      ['/var/lib/kubelet/pki/kubelet.key', '/var/lib/kubelet/kubeconfig', '/var/lib/kube-proxy/kubeconfig', '/var/lib/kube-router/kubeconfig'].sort(),
    );
  });

  it('leaves certificates and the service-account public key readable', () => {
    const master = fullMasterBundle(plan, master0, pki);
    for (const path of ['/etc/kubernetes/pki/ca.crt', '/etc/kubernetes/pki/apiserver.crt', '/etc/kubernetes/pki/etcd/server.crt', '/etc/kubernetes/pki/service-account.pub']) {
      expect(fileAt(master, path).mode, path).not.toBe(MODE_SECRET);
    }
    expect(fileAt(workerBundle(plan, worker0, pki), '/var/lib/kubelet/pki/kubelet.crt').mode).not.toBe(MODE_SECRET);
  });

  it('keeps the CA key and the service-account signing key off workers and the lb, and each kubelet key on its own worker', () => {
    const bundles = renderCluster(plan, pki);
    const contents = (name: string) => (bundles[name]?.files ?? []).map(textOf).join('\n');
    const kubeletKeyOf = (name: string) => pki.kubelets[name]?.keyPem ?? 'missing';
    for (const name of ['demo-lb', 'demo-worker-0', 'demo-worker-1']) {
      expect(contents(name), name).not.toContain(pki.ca.keyPem);
      expect(contents(name), name).not.toContain(pki.serviceAccount.privateKeyPem);
    }
    expect(contents('demo-worker-0')).toContain(kubeletKeyOf('demo-worker-0'));
    expect(contents('demo-worker-0')).not.toContain(kubeletKeyOf('demo-worker-1'));
    expect(contents('demo-master-0')).toContain(pki.ca.keyPem);
  });
});

describe('etcd', () => {
  const etcdFlags = (master: NodePlan) => flagsOf(etcdBundle(plan, master, pki), 'etcd.service');

  it('names every member by its stable node name in initial-cluster', () => {
    expect(etcdFlags(master0)['initial-cluster']).toBe(
      'demo-master-0=https://demo-master-0:2380,demo-master-1=https://demo-master-1:2380,demo-master-2=https://demo-master-2:2380',
    );
    const perMaster = plan.masters.map((m) => etcdFlags(m)['initial-cluster']);
    expect(new Set(perMaster).size).toBe(1);
  });

  it.each(MASTER_NAMES)('advertises %s by name and listens on its address', (name) => {
    const master = nodeNamed(plan.masters, name);
    expect(etcdFlags(master)).toMatchObject({
      name,
      'advertise-client-urls': `https://${name}:2379`,
      'initial-advertise-peer-urls': `https://${name}:2380`,
      'listen-client-urls': `https://${master.ip}:2379,https://127.0.0.1:2379`,
      'listen-peer-urls': `https://${master.ip}:2380`,
      'initial-cluster-state': 'new',
    });
  });

  it('requires TLS with client certificates between clients and peers, with the master\'s own certificates', () => {
    const master = nodeNamed(plan.masters, 'demo-master-1');
    const bundle = etcdBundle(plan, master, pki);
    const flags = flagsOf(bundle, 'etcd.service');
    expect(flags['client-cert-auth']).toBe('true');
    expect(flags['peer-client-cert-auth']).toBe('true');
    const contentOfFlag = (flag: string) => textAt(bundle, flags[flag] ?? `missing --${flag}`);
    expect(contentOfFlag('trusted-ca-file')).toBe(pki.ca.certPem);
    expect(contentOfFlag('peer-trusted-ca-file')).toBe(pki.ca.certPem);
    expect(contentOfFlag('cert-file')).toBe(pki.etcdServer[master.name]?.certPem);
    expect(contentOfFlag('key-file')).toBe(pki.etcdServer[master.name]?.keyPem);
    expect(contentOfFlag('peer-cert-file')).toBe(pki.etcdPeer[master.name]?.certPem);
    expect(contentOfFlag('peer-key-file')).toBe(pki.etcdPeer[master.name]?.keyPem);
    expect(subjectOf(contentOfFlag('cert-file'))).toBe(`CN=${master.name}`);
    const everyUrl = [flags['listen-client-urls'], flags['advertise-client-urls'], flags['listen-peer-urls'], flags['initial-cluster']].join(',');
    expect(everyUrl).not.toMatch(/http:\/\//);
  });

  it('is a notify unit, so systemd knows when etcd is ready', () => {
    expect(directive(unitText(etcdBundle(plan, master0, pki), 'etcd.service'), 'Type')).toEqual(['notify']);
  });
});

describe('kube-apiserver', () => {
  const bundle = () => apiServerBundle(plan, master0, pki);
  const apiFlags = () => flagsOf(bundle(), 'kube-apiserver.service');
  const contentOfFlag = (flag: string) => textAt(bundle(), apiFlags()[flag] ?? `missing --${flag}`);

  it('talks over TLS to the etcd member on its own master, which listens on loopback (flags that do not change with membership)', () => {
    expect(apiFlags()['etcd-servers']).toBe('https://127.0.0.1:2379');
    expect(flagsOf(etcdBundle(plan, master0, pki), 'etcd.service')['listen-client-urls']?.split(',')).toContain('https://127.0.0.1:2379');
    expect(contentOfFlag('etcd-cafile')).toBe(pki.ca.certPem);
    expect(contentOfFlag('etcd-certfile')).toBe(pki.etcdClient.certPem);
    expect(contentOfFlag('etcd-keyfile')).toBe(pki.etcdClient.keyPem);
  });

  it('authorizes with Node,RBAC and admits with NodeRestriction', () => {
    expect(apiFlags()['authorization-mode']).toBe('Node,RBAC');
    expect(apiFlags()['enable-admission-plugins']?.split(',')).toContain('NodeRestriction');
  });

  it('encrypts Secrets at rest with the cluster\'s key, aescbc first', () => {
    const config = parse(contentOfFlag('encryption-provider-config')) as {
      kind: string;
      resources: Array<{ resources: string[]; providers: Array<Record<string, { keys?: Array<{ secret: string }> }>> }>;
    };
    expect(config.kind).toBe('EncryptionConfiguration');
    expect(config.resources[0]?.resources).toEqual(['secrets']);
    expect(config.resources[0]?.providers[0]?.aescbc?.keys?.[0]?.secret).toBe(pki.encryptionKey);
  });

  it('issues and verifies service-account tokens with the cluster\'s key pair', () => {
    expect(apiFlags()['service-account-issuer']).toBe('https://kubernetes.default.svc.cluster.local');
    expect(contentOfFlag('service-account-key-file')).toBe(pki.serviceAccount.publicKeyPem);
    expect(contentOfFlag('service-account-signing-key-file')).toBe(pki.serviceAccount.privateKeyPem);
    expect(createPrivateKey(contentOfFlag('service-account-signing-key-file')).asymmetricKeyType).toBe('rsa');
  });

  it('reaches kubelets with its kubelet client certificate and checks them against the CA', () => {
    expect(contentOfFlag('kubelet-client-certificate')).toBe(pki.apiServerKubeletClient.certPem);
    expect(contentOfFlag('kubelet-client-key')).toBe(pki.apiServerKubeletClient.keyPem);
    expect(contentOfFlag('kubelet-certificate-authority')).toBe(pki.ca.certPem);
  });

  it('serves on 6443 at the master\'s address with the API server certificate, trusting the cluster CA for clients', () => {
    expect(apiFlags()).toMatchObject({ 'advertise-address': master0.ip, 'secure-port': '6443' });
    expect(contentOfFlag('tls-cert-file')).toBe(pki.apiServer.certPem);
    expect(contentOfFlag('tls-private-key-file')).toBe(pki.apiServer.keyPem);
    expect(contentOfFlag('client-ca-file')).toBe(pki.ca.certPem);
  });

  it('uses the spec\'s service range', () => {
    expect(apiFlags()['service-cluster-ip-range']).toBe('10.32.0.0/16');
    expect(apiFlags()['service-cluster-ip-range']).toBe(plan.spec.serviceSubnet);
  });

  it('starts after etcd', () => {
    expect(directive(unitText(bundle(), 'kube-apiserver.service'), 'After')).toContain('etcd.service');
  });

  it('runs the aggregation layer with its own front-proxy CA and client certificate', () => {
    expect(contentOfFlag('requestheader-client-ca-file')).toBe(pki.frontProxyCa.certPem);
    expect(contentOfFlag('requestheader-client-ca-file')).not.toBe(pki.ca.certPem);
    expect(apiFlags()['requestheader-allowed-names']).toBe('front-proxy-client');
    expect(apiFlags()).toMatchObject({
      'requestheader-username-headers': 'X-Remote-User',
      'requestheader-group-headers': 'X-Remote-Group',
      'requestheader-extra-headers-prefix': 'X-Remote-Extra-',
    });
    expect(contentOfFlag('proxy-client-cert-file')).toBe(pki.frontProxyClient.certPem);
    expect(contentOfFlag('proxy-client-key-file')).toBe(pki.frontProxyClient.keyPem);
    expect(fileAt(bundle(), apiFlags()['proxy-client-key-file'] ?? '').mode).toBe(MODE_SECRET);
  });

  it('calls webhooks and aggregated APIs at their endpoints (no dependency on kube-proxy on the master)', () => {
    expect(apiFlags()['enable-aggregator-routing']).toBe('true');
  });
});

describe('kube-controller-manager and kube-scheduler', () => {
  const LOCAL_API = 'https://127.0.0.1:6443';

  it('runs the controller manager leader-elected, with its own kubeconfig for the local API server', () => {
    const bundle = controllerManagerBundle(plan, master0, pki);
    const flags = flagsOf(bundle, 'kube-controller-manager.service');
    expect(flags['leader-elect']).toBe('true');
    const kubeconfig = flags.kubeconfig ?? 'missing --kubeconfig';
    expect(flags['authentication-kubeconfig']).toBe(kubeconfig);
    expect(flags['authorization-kubeconfig']).toBe(kubeconfig);
    expectKubeconfig(bundle, kubeconfig, LOCAL_API, pki.kubeControllerManager, pki);
    expect(flags['service-cluster-ip-range']).toBe(plan.spec.serviceSubnet);
    expect(textAt(bundle, flags['cluster-signing-key-file'] ?? 'missing')).toBe(pki.ca.keyPem);
    expect(textAt(bundle, flags['service-account-private-key-file'] ?? 'missing')).toBe(pki.serviceAccount.privateKeyPem);
  });

  it('runs the scheduler leader-elected, configured by a file naming its own kubeconfig', () => {
    const bundle = schedulerBundle(plan, master0, pki);
    const flags = flagsOf(bundle, 'kube-scheduler.service');
    const config = yamlAt<{ kind: string; leaderElection: { leaderElect: boolean }; clientConnection: { kubeconfig: string } }>(
      bundle,
      flags.config ?? 'missing --config',
    );
    expect(config.kind).toBe('KubeSchedulerConfiguration');
    expect(config.leaderElection.leaderElect).toBe(true);
    expectKubeconfig(bundle, config.clientConnection.kubeconfig, LOCAL_API, pki.kubeScheduler, pki);
    expect(flags['authentication-kubeconfig']).toBe(config.clientConnection.kubeconfig);
    expect(flags['authorization-kubeconfig']).toBe(config.clientConnection.kubeconfig);
  });

  it.each(['kube-controller-manager.service', 'kube-scheduler.service'])('starts %s after the API server', (unit) => {
    const bundle = masterBundle(plan, master0, pki);
    expect(directive(unitText(bundle, unit), 'After')).toContain('kube-apiserver.service');
  });
});

describe('kubelet', () => {
  interface KubeletConfig {
    kind: string;
    authentication: { anonymous: { enabled: boolean }; webhook: { enabled: boolean }; x509: { clientCAFile: string } };
    authorization: { mode: string };
    cgroupDriver: string;
    clusterDNS: string[];
    clusterDomain: string;
    podCIDR: string;
    containerRuntimeEndpoint: string;
    tlsCertFile: string;
    tlsPrivateKeyFile: string;
  }
  const kubelet = (worker: NodePlan) => {
    const bundle = kubeletBundle(plan, worker, pki);
    const flags = flagsOf(bundle, 'kubelet.service');
    return { bundle, flags, config: yamlAt<KubeletConfig>(bundle, flags.config ?? 'missing --config') };
  };

  it('authenticates by client certificate and webhook, never anonymously, and authorizes by webhook', () => {
    const { bundle, config } = kubelet(worker0);
    expect(config.kind).toBe('KubeletConfiguration');
    expect(config.authentication.anonymous.enabled).toBe(false);
    expect(config.authentication.webhook.enabled).toBe(true);
    expect(config.authorization.mode).toBe('Webhook');
    expect(textAt(bundle, config.authentication.x509.clientCAFile)).toBe(pki.ca.certPem);
  });

  it('uses the systemd cgroup driver and containerd\'s socket', () => {
    const { config } = kubelet(worker0);
    expect(config.cgroupDriver).toBe('systemd');
    expect(config.containerRuntimeEndpoint).toBe('unix:///run/containerd/containerd.sock');
  });

  it.each(['demo-worker-0', 'demo-worker-1'])('points %s at the cluster DNS and its own pod subnet', (name) => {
    const worker = nodeNamed(plan.workers, name);
    const { config } = kubelet(worker);
    expect(config.clusterDNS).toEqual([plan.dnsServiceIP]);
    expect(config.clusterDNS).toEqual(['10.32.0.10']);
    expect(config.clusterDomain).toBe('cluster.local');
    expect(config.podCIDR).toBe(worker.podSubnet);
  });

  it('serves with its own certificate and reaches the API through the lb as system:node:<name>', () => {
    const { bundle, flags, config } = kubelet(worker0);
    const own = pki.kubelets[worker0.name];
    expect(textAt(bundle, config.tlsCertFile)).toBe(own?.certPem);
    expect(textAt(bundle, config.tlsPrivateKeyFile)).toBe(own?.keyPem);
    expectKubeconfig(bundle, flags.kubeconfig ?? 'missing --kubeconfig', 'https://demo-lb:6443', own ?? { certPem: '', keyPem: '' }, pki);
    expect(subjectOf(own?.certPem ?? '')).toBe('O=system:nodes\nCN=system:node:demo-worker-0');
    expect(flags).toMatchObject({ 'node-ip': worker0.ip, 'hostname-override': worker0.name });
  });

  it('requires containerd and starts after it', () => {
    const unit = unitText(kubeletBundle(plan, worker0, pki), 'kubelet.service');
    expect(directive(unit, 'Requires')).toContain('containerd.service');
    expect(directive(unit, 'After')).toContain('containerd.service');
  });
});

describe('kube-proxy', () => {
  it('proxies with iptables for the whole pod range, as system:kube-proxy through the lb', () => {
    const bundle = kubeProxyBundle(plan, worker0, pki);
    const flags = flagsOf(bundle, 'kube-proxy.service');
    const config = yamlAt<{ kind: string; mode: string; clusterCIDR: string; hostnameOverride: string; clientConnection: { kubeconfig: string } }>(
      bundle,
      flags.config ?? 'missing --config',
    );
    expect(config).toMatchObject({ kind: 'KubeProxyConfiguration', mode: 'iptables', clusterCIDR: '10.200.0.0/16', hostnameOverride: worker0.name });
    expect(config.clusterCIDR).toBe(plan.spec.podSubnet);
    expectKubeconfig(bundle, config.clientConnection.kubeconfig, plan.internalApiServerUrl, pki.kubeProxy, pki);
  });

  it('runs on masters too, naming the master and talking to its own API server', () => {
    const bundle = masterBundle(plan, master0, pki);
    expect(bundle.units).toContain('kube-proxy.service');
    const flags = flagsOf(bundle, 'kube-proxy.service');
    const config = yamlAt<{ hostnameOverride: string; bindAddress: string; clientConnection: { kubeconfig: string } }>(bundle, flags.config ?? 'missing --config');
    // A master has no Node object to read its address from: bindAddress says it.
    expect(config).toMatchObject({ hostnameOverride: master0.name, bindAddress: master0.ip });
    expectKubeconfig(bundle, config.clientConnection.kubeconfig, 'https://127.0.0.1:6443', pki.kubeProxy, pki);
  });
});

describe('kube-router (NetworkPolicy)', () => {
  const unit = () => unitText(workerBundle(plan, worker0, pki), 'kube-router.service');

  it('runs only the policy controller, IPv4 only, for its own node and the spec\'s service range', () => {
    expect(flagsOf(workerBundle(plan, worker0, pki), 'kube-router.service')).toMatchObject({
      'run-firewall': 'true',
      'run-router': 'false',
      'run-service-proxy': 'false',
      'enable-cni': 'false',
      'enable-ipv4': 'true',
      'enable-ipv6': 'false',
      'hostname-override': worker0.name,
      'service-cluster-ip-range': '10.32.0.0/16',
    });
    expect(execStart(unit())[0]).toBe('/usr/local/bin/kube-router');
  });

  it('turns on iptables for bridged (same-node) pod traffic before it starts', () => {
    expect(directive(unit(), 'ExecStartPre')).toContain('-/usr/sbin/sysctl');
    expect(unit()).toContain('net.bridge.bridge-nf-call-iptables=1');
  });

  it('authenticates as system:kube-router through the lb', () => {
    const bundle = workerBundle(plan, worker0, pki);
    const path = flagsOf(bundle, 'kube-router.service').kubeconfig ?? 'missing --kubeconfig';
    expectKubeconfig(bundle, path, plan.internalApiServerUrl, pki.kubeRouter, pki);
  });

  it('may only read what it watches, bound to its own user', () => {
    const [role, binding] = parseAllDocuments(kubeRouterRbac()).map((d) => d.toJS() as {
      kind: string;
      metadata: { name: string };
      rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
      subjects?: Array<{ kind: string; name: string }>;
      roleRef?: { name: string };
    });
    expect(role?.kind).toBe('ClusterRole');
    for (const rule of role?.rules ?? []) expect(rule.verbs).toEqual(['get', 'list', 'watch']);
    const resources = (role?.rules ?? []).flatMap((r) => r.resources).sort();
    expect(resources).toEqual(['endpoints', 'endpointslices', 'namespaces', 'networkpolicies', 'nodes', 'pods', 'services']);
    expect(binding?.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:kube-router' }]);
    expect(binding?.roleRef?.name).toBe(role?.metadata.name);
  });

  it('is not installed with networkPolicy none, nor with Weave Net or no pod network', () => {
    for (const spec of [{ ...specFor('bridge'), networkPolicy: 'none' as const }, specFor('weave'), specFor('none')]) {
      const other = planCluster(spec, NODE_SUBNET);
      const bundle = workerBundle(other, other.workers[0] ?? worker0, pki);
      expect(bundle.units, `${spec.cni}/${spec.networkPolicy}`).not.toContain('kube-router.service');
      expect(bundle.files.map((f) => f.path)).not.toContain('/var/lib/kube-router/kubeconfig');
      expect(apiClientUnits(other)).toEqual(['kubelet.service', 'kube-proxy.service']);
    }
    expect(apiClientUnits(plan)).toEqual(['kubelet.service', 'kube-proxy.service', 'kube-router.service']);
  });
});

describe('containerd', () => {
  const config = () => textAt(workerBundle(plan, worker0, pki), '/etc/containerd/config.toml');

  it('pins the sandbox image kc ships', () => {
    expect(tomlTable(config(), "plugins.'io.containerd.cri.v1.images'.pinned_images")).toEqual([`sandbox = '${POD_IMAGES.pause}'`]);
    expect(POD_IMAGES.pause).toMatch(/^registry\.k8s\.io\/pause:\S+$/);
  });

  it('runs runc with the systemd cgroup driver, like kubelet', () => {
    expect(config()).toMatch(/^version = 3$/m);
    expect(tomlTable(config(), "plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options")).toContain('SystemdCgroup = true');
  });

  it('is a notify unit, and the image import runs once after it', () => {
    const bundle = workerBundle(plan, worker0, pki);
    expect(directive(unitText(bundle, 'containerd.service'), 'Type')).toEqual(['notify']);
    const importUnit = unitText(bundle, 'kc-import-images.service');
    expect(directive(importUnit, 'Type')).toEqual(['oneshot']);
    expect(directive(importUnit, 'Requires')).toEqual(['containerd.service']);
    // Every archive at once, and the unit fails if any one import failed.
    const script = textAt(bundle, directive(importUnit, 'ExecStart')[0] ?? '');
    expect(script).toContain('zstd -dcq "$archive" | /usr/local/bin/ctr --namespace k8s.io images import --local "$unpack" - >/dev/null) &');
    // pause unpacked at once (every sandbox needs it), the others by the CRI on first use, on the worker that runs them.
    expect(script).toContain('*/pause.tar.zst) unpack=--snapshotter=overlayfs ;; *) unpack=--no-unpack ;;');
    expect(script).toContain('for pid in $pids; do wait "$pid" || status=1; done');
    expect(script.trimEnd().endsWith('exit $status')).toBe(true);
  });
});

describe('haproxy', () => {
  const config = () => textAt(lbBundle(plan), '/etc/haproxy/haproxy.cfg');
  const lines = () => config().split('\n').map((line) => line.trim());

  /** The lines of one section (`backend NAME`), up to the next blank line. */
  const section = (header: string) => {
    const all = lines();
    const start = all.indexOf(header);
    expect(start, header).toBeGreaterThanOrEqual(0);
    const end = all.indexOf('', start);
    return all.slice(start + 1, end === -1 ? undefined : end);
  };

  it('has one server line per master in each backend, named after it, at its fixed address on port 6443 (no DNS involved)', () => {
    for (const backend of ['backend masters', 'backend masters-listening']) {
      const servers = section(backend).filter((line) => line.startsWith('server '));
      expect(servers.map((line) => line.split(/\s+/).slice(1, 3)), backend).toEqual(plan.masters.map((m) => [m.name, `${m.ip}:6443`]));
    }
    expect(lines().some((line) => line.startsWith('resolvers'))).toBe(false);
  });

  it('health-checks every server of the main backend on /readyz over TLS, answers allowed 2 s on a busy machine', () => {
    const masters = section('backend masters');
    expect(masters).toContain('option httpchk GET /readyz');
    const defaults = masters.find((line) => line.startsWith('default-server ')) ?? '';
    expect(defaults.split(/\s+/)).toEqual(expect.arrayContaining(['check', 'check-ssl', 'observe', 'layer4']));
    expect(lines()).toContain('timeout check 2s');
  });

  it('binds 6443, sends it to the ready masters, and to those that listen only while none is ready (an etcd election)', () => {
    expect(lines()).toContain('bind *:6443');
    expect(lines()).toContain('use_backend masters if { nbsrv(masters) gt 0 }');
    expect(lines()).toContain('default_backend masters-listening');
    // Connect checks only: no TLS and no /readyz, which every API server fails at once while etcd elects a leader.
    const listening = section('backend masters-listening');
    expect(listening.join('\n')).not.toMatch(/httpchk|check-ssl/);
    expect((listening.find((line) => line.startsWith('default-server ')) ?? '').split(/\s+/)).toEqual(expect.arrayContaining(['check', 'observe', 'layer4']));
  });
});

describe('pod network', () => {
  interface Conflist {
    plugins: Array<{ type: string; ipam?: { ranges: Array<Array<{ subnet: string }>> } }>;
  }
  const conflistFor = (worker: NodePlan) => JSON.parse(textAt(workerBundle(plan, worker, pki), CNI_CONFLIST)) as Conflist;

  it.each(['demo-worker-0', 'demo-worker-1'])('bridges %s\'s pods on its own pod subnet', (name) => {
    const worker = nodeNamed(plan.workers, name);
    const bridge = conflistFor(worker).plugins.find((p) => p.type === 'bridge');
    expect(bridge?.ipam?.ranges).toEqual([[{ subnet: worker.podSubnet }]]);
  });

  it.each(['weave', 'none'] as const)('writes no bridge conflist with --cni %s', (cni) => {
    const other = planCluster(specFor(cni), NODE_SUBNET);
    const bundle = workerBundle(other, nodeNamed(other.workers, 'demo-worker-0'), pki);
    expect(bundle.files.filter((f) => f.path.startsWith('/etc/cni/net.d/'))).toEqual([]);
    expect(bundle.units).toContain('kubelet.service');
  });

  it('routes to every other worker\'s pod subnet through that worker', () => {
    const [w0, w1] = plan.workers;
    expect(podRoutes(plan, worker0)).toEqual([{ subnet: w1?.podSubnet, via: w1?.ip }]);
    expect(podRoutes(plan, nodeNamed(plan.workers, 'demo-worker-1'))).toEqual([{ subnet: w0?.podSubnet, via: w0?.ip }]);
  });

  it('installs those routes (and egress masquerading) from a unit, so they come back when the node restarts', () => {
    const bundle = workerBundle(plan, worker0, pki);
    expect(bundle.units).toContain('kc-pod-network.service');
    const unit = textAt(bundle, '/etc/systemd/system/kc-pod-network.service');
    const [, w1] = plan.workers;
    expect(unit).toContain('Type=oneshot');
    expect(unit).toContain(`ip route replace ${w1?.podSubnet} via ${w1?.ip}`);
    // Only traffic leaving the pod range is masqueraded: pods see each other's real addresses.
    expect(unit).toContain(`-s ${plan.spec.podSubnet} ! -d ${plan.spec.podSubnet} -m comment --comment kc-pod-egress -j MASQUERADE`);
    const bridge = (JSON.parse(textAt(bundle, CNI_CONFLIST)) as { plugins: Array<{ type: string; ipMasq?: boolean }> }).plugins.find((p) => p.type === 'bridge');
    expect(bridge?.ipMasq).toBe(false);
    expect(unit).toContain('WantedBy=multi-user.target');
  });

  it.each(['weave', 'none'] as const)('adds no pod routes with --cni %s, but still keeps Service addresses in', (cni) => {
    const other = planCluster(specFor(cni), NODE_SUBNET);
    for (const node of [nodeNamed(other.workers, 'demo-worker-0'), nodeNamed(other.masters, 'demo-master-0')]) {
      const bundle = node.role === 'worker' ? workerBundle(other, node, pki) : masterBundle(other, node, pki);
      const unit = textAt(bundle, '/etc/systemd/system/kc-pod-network.service');
      expect(unit, node.name).not.toContain('ip route');
      expect(unit, node.name).toContain('nft -f /etc/kc/boundary.nft');
      expect(textAt(bundle, '/etc/kc/boundary.nft'), node.name).toContain(`ip daddr ${other.spec.serviceSubnet} counter`);
      expect(unit, node.name).not.toContain('MASQUERADE');
    }
  });

  it('routes every worker\'s pods from every master (API servers call webhooks and pods/proxy at pod addresses)', () => {
    const unit = textAt(masterBundle(plan, master0, pki), '/etc/systemd/system/kc-pod-network.service');
    for (const worker of plan.workers) expect(unit).toContain(`ip route replace ${worker.podSubnet} via ${worker.ip}`);
    // Masters have no pods of their own: nothing to masquerade, no bridge.
    expect(unit).not.toContain('MASQUERADE');
    expect(masterBundle(plan, master0, pki).files.map((f) => f.path)).not.toContain(CNI_CONFLIST);
  });

  it.each(['lb', 'master', 'worker'] as const)('makes the %s drop pod and Service addresses it cannot route, at every boot', (role) => {
    const node = role === 'lb' ? plan.lb : role === 'master' ? master0 : worker0;
    const bundle = role === 'lb' ? lbBundle(plan) : role === 'master' ? masterBundle(plan, node, pki) : workerBundle(plan, node, pki);
    expect(bundle.units).toContain('kc-pod-network.service');
    const unit = textAt(bundle, '/etc/systemd/system/kc-pod-network.service');
    expect(unit).toContain(`ip route replace unreachable ${plan.spec.podSubnet}`);
    expect(unit).toContain('nft -f /etc/kc/boundary.nft');
    // Not in iptables' FORWARD chain, where kube-router's chain comes first and accepts pod traffic before it.
    expect(unit).not.toContain('kc-service-boundary');
    expect(textAt(bundle, '/etc/kc/boundary.nft')).toBe(boundaryRuleset(plan));
  });

  it('rejects untranslated Service addresses in a table of kc\'s own, on both hooks, and reloads it without doubling rules', () => {
    const rules = boundaryRuleset(plan);
    // Deleted and made again in one transaction: the unit runs at every boot and after each node change.
    expect(rules.indexOf('delete table ip kc-boundary')).toBeLessThan(rules.indexOf('table ip kc-boundary {'));
    for (const [hook, counter] of [['forward', 'forwarded-to-service-range'], ['output', 'sent-to-service-range']] as const) {
      // After kube-proxy's filter rules, so its "no endpoints" reject (connection refused) answers first.
      expect(rules).toContain(`type filter hook ${hook} priority filter + 10; policy accept;`);
      expect(rules).toContain(`ip daddr ${plan.spec.serviceSubnet} counter name "${counter}" reject with icmp type port-unreachable`);
    }
    // Nothing else: every other packet, and translated Service traffic (now a pod address), is left to the other tables.
    expect(rules.match(/reject/g)).toHaveLength(2);
    expect(plan.spec.serviceSubnet).toBe('10.32.0.0/16');
  });

  it('refuses to render a bridge for a node without a pod subnet', () => {
    expect(() => renderBridgeConflist(master0)).toThrow(/no pod subnet/);
  });
});

describe('CoreDNS', () => {
  const documents = () => parseAllDocuments(coreDnsManifest(plan)).map((doc) => doc.toJS() as { kind: string; metadata: { name: string } });
  const documentOf = <T>(kind: string): T => {
    const found = documents().filter((doc) => doc.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0] as T;
  };

  it('serves at the plan\'s DNS address', () => {
    const service = documentOf<{ metadata: { name: string; namespace: string }; spec: { clusterIP: string } }>('Service');
    expect(service.metadata).toMatchObject({ name: 'kube-dns', namespace: 'kube-system' });
    expect(service.spec.clusterIP).toBe(plan.dnsServiceIP);
  });

  it('answers for the cluster domain', () => {
    const corefile = documentOf<{ data: { Corefile: string } }>('ConfigMap').data.Corefile;
    expect(corefile).toMatch(/^\s*kubernetes cluster\.local in-addr\.arpa ip6\.arpa \{$/m);
  });

  it('runs the image kc ships, which never needs a registry', () => {
    const deployment = documentOf<{ spec: { template: { spec: { containers: Array<{ image: string; imagePullPolicy: string }> } } } }>('Deployment');
    expect(deployment.spec.template.spec.containers[0]).toMatchObject({ image: POD_IMAGES.coredns, imagePullPolicy: 'IfNotPresent' });
  });
});

describe("the user's feature gates and extra arguments", () => {
  const tuned = () =>
    planCluster(
      {
        ...specFor(),
        featureGates: { ZetaGate: false, AlphaGate: true },
        extraArgs: {
          apiserver: { v: '4', 'service-node-port-range': '31000-31999' },
          etcd: { 'snapshot-count': '5000' },
          kubelet: { v: '2' },
        },
        kubeProxyMode: 'nftables',
      },
      NODE_SUBNET,
    );

  it('passes feature gates, sorted, to the control plane as a flag and to kubelet and kube-proxy in their configs', () => {
    const tunedPlan = tuned();
    const master = fullMasterBundle(tunedPlan, nodeNamed(tunedPlan.masters, 'demo-master-0'), pki);
    for (const unit of ['kube-apiserver.service', 'kube-controller-manager.service', 'kube-scheduler.service']) {
      expect(flagsOf(master, unit)['feature-gates'], unit).toBe('AlphaGate=true,ZetaGate=false');
    }
    expect(flagsOf(master, 'etcd.service')['feature-gates']).toBeUndefined();
    const worker = workerBundle(tunedPlan, nodeNamed(tunedPlan.workers, 'demo-worker-0'), pki);
    expect(yamlAt<{ featureGates?: object }>(worker, '/var/lib/kubelet/config.yaml').featureGates).toEqual({ ZetaGate: false, AlphaGate: true });
    expect(yamlAt<{ featureGates?: object; mode?: string }>(worker, '/var/lib/kube-proxy/config.yaml')).toMatchObject({
      featureGates: { ZetaGate: false, AlphaGate: true },
      mode: 'nftables',
    });
  });

  it('adds extra arguments to their component, replacing a flag kc sets instead of repeating it', () => {
    const tunedPlan = tuned();
    const master = fullMasterBundle(tunedPlan, nodeNamed(tunedPlan.masters, 'demo-master-0'), pki);
    const apiserver = flagsOf(master, 'kube-apiserver.service');
    expect(apiserver.v).toBe('4');
    expect(apiserver['service-node-port-range']).toBe('31000-31999');
    expect(flagsOf(master, 'etcd.service')['snapshot-count']).toBe('5000');
    expect(flagsOf(master, 'kube-scheduler.service').v).toBeUndefined();
    const worker = workerBundle(tunedPlan, nodeNamed(tunedPlan.workers, 'demo-worker-0'), pki);
    expect(flagsOf(worker, 'kubelet.service').v).toBe('2');
  });

  it('leaves every component as it was when nothing is asked', () => {
    const master = fullMasterBundle(plan, master0, pki);
    for (const unit of ['kube-apiserver.service', 'kube-controller-manager.service', 'kube-scheduler.service']) {
      expect(flagsOf(master, unit)['feature-gates'], unit).toBeUndefined();
    }
    expect(yamlAt<{ featureGates?: object }>(workerBundle(plan, worker0, pki), '/var/lib/kubelet/config.yaml').featureGates).toBeUndefined();
  });
});
