import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { rotateCertificates } from '../../src/cluster/lifecycle/rotate-certificates.js';
import { MASTER_FILES } from '../../src/components/control-plane-files.js';
import { ETCD_FILES } from '../../src/components/etcd.js';
import { WORKER_FILES } from '../../src/components/worker-files.js';
import { defaultClusterSpec, DEFAULT_NODE_IMAGE } from '../../src/config/defaults.js';
import { planCluster, withNodeAdded } from '../../src/model/plan.js';
import { caFingerprint, ownCaFingerprints, signedWithNextCa, trustedCaPem, withNextCa, withoutPreviousCa } from '../../src/pki/ca-rotation.js';
import { generateClusterPki, renewLeafCertificates, withNodePki } from '../../src/pki/cluster-pki.js';
import { certificateInventory } from '../../src/pki/inventory.js';
import type { CertKey, ClusterPki } from '../../src/pki/types.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { loadState, migrateState } from '../../src/state/cluster-state.js';
import { UsageError } from '../../src/util/errors.js';
import { silentProgress } from '../../src/util/progress.js';
import { failed, healthyApi, ok, recordedCluster, type RecordedCluster } from './fake-cluster.js';
import { useTemporaryStateDir } from './helpers.js';

const temporary = useTemporaryStateDir('kc-rotate-');
const spec = (controlPlanes = 2, workers = 1) => defaultClusterSpec({ name: 'rot', controlPlanes, workers, waitSeconds: 5 });
const serial = (pem: string) => new X509Certificate(pem).serialNumber;

/** Every leaf certificate of a PKI by its place in it (`kubelets.rot-worker-0`, ...): what a rotation renews. */
function leavesOf(pki: ClusterPki): Record<string, string> {
  const leaves: Record<string, string> = {};
  for (const [field, value] of Object.entries(pki)) {
    if (['ca', 'overlapCa', 'retiredCaFingerprints', 'frontProxyCa', 'serviceAccount', 'encryptionKey'].includes(field)) continue;
    if (typeof value === 'object' && value !== null && 'certPem' in value) leaves[field] = (value as CertKey).certPem;
    else for (const [node, pair] of Object.entries(value as Record<string, CertKey>)) leaves[`${field}.${node}`] = pair.certPem;
  }
  return Object.fromEntries(Object.entries(leaves).sort());
}

describe('renewing leaf certificates (pure but for the keys)', () => {
  it('issues every leaf again from the same CAs for the same names, and keeps the CAs, the service-account keys and the encryption key', async () => {
    const base = planCluster(spec(), '172.30.7.0/24');
    const { plan, node } = withNodeAdded(base, 'master');
    const pki = await withNodePki(await generateClusterPki(base), plan, node);
    const renewed = await renewLeafCertificates(pki, plan);
    expect(renewed.ca).toEqual(pki.ca);
    expect(renewed.frontProxyCa).toEqual(pki.frontProxyCa);
    expect(renewed.serviceAccount).toEqual(pki.serviceAccount);
    expect(renewed.encryptionKey).toBe(pki.encryptionKey);
    const before = certificateInventory(plan, pki);
    const after = certificateInventory(plan, renewed);
    const listed = (entries: typeof before) => entries.map((c) => `${c.name} ${c.subject} ${c.nodes.join(',')}`).sort();
    expect(listed(after)).toEqual(listed(before));
    const oldLeaves = leavesOf(pki);
    const newLeaves = leavesOf(renewed);
    expect(Object.keys(newLeaves)).toEqual(Object.keys(oldLeaves));
    expect(Object.keys(newLeaves).length).toBeGreaterThan(14);
    for (const [name, cert] of Object.entries(newLeaves)) {
      expect(serial(cert), name).not.toBe(serial(oldLeaves[name] ?? ''));
      expect(new X509Certificate(cert).subject, name).toBe(new X509Certificate(oldLeaves[name] ?? '').subject);
      // The shared serving certificate is issued for today's masters: it now names the one that joined too.
      if (name !== 'apiServer') expect(new X509Certificate(cert).subjectAltName, name).toBe(new X509Certificate(oldLeaves[name] ?? '').subjectAltName);
    }
    expect(new X509Certificate(renewed.apiServer.certPem).subjectAltName).toContain(`DNS:${node.name}`);
    // The master that joined later keeps a serving certificate of its own, naming it.
    expect(Object.keys(renewed.apiServerByNode ?? {})).toEqual([node.name]);
    expect(new X509Certificate(renewed.apiServerByNode![node.name]!.certPem).subjectAltName).toContain(`DNS:${node.name}`);
    expect(new X509Certificate(renewed.kubelets['rot-worker-0']!.certPem).verify(new X509Certificate(pki.ca.certPem).publicKey)).toBe(true);
    // Two clusters' worth of key pairs: seconds on a busy runner.
  }, 30_000);
});

let commands: string[] = [];
let script: RecordedCluster['script'] = () => undefined;

async function fakeCluster(controlPlanes = 2): Promise<FakeEngine> {
  const engine = new FakeEngine({ images: [DEFAULT_NODE_IMAGE] });
  ({ commands, script } = await recordedCluster(engine, spec(controlPlanes), join(temporary.dir, 'kubeconfig')));
  return engine;
}

const rotate = (engine: FakeEngine, controlPlanes = 2, ca = false) =>
  rotateCertificates({ engine, progress: silentProgress, cluster: 'rot', ca, waitSeconds: 5, apiProbe: healthyApi(spec(controlPlanes)) });

describe('kc rotate certificates on the fake engine', () => {
  it('records the new certificates first, then rolls them out a master at a time (drained, restarted, ready, back), then each worker', async () => {
    const engine = await fakeCluster();
    const before = (await loadState('rot'))!;
    const result = await rotate(engine);
    const after = (await loadState('rot'))!;
    expect(result.certificates).toBe(certificateInventory(after.plan, after.pki).length);
    expect(serial(after.pki.apiServer.certPem)).not.toBe(serial(before.pki.apiServer.certPem));
    expect(after.pki.ca).toEqual(before.pki.ca);
    // The user's kubeconfig carries the new admin certificate.
    expect(await readFile(join(temporary.dir, 'kubeconfig'), 'utf8')).toContain(Buffer.from(after.pki.admin.certPem).toString('base64'));
    // Each node got its new files.
    const served = engine.nodes.get('rot-master-1')?.files.get('/etc/kubernetes/pki/etcd/server.crt')?.content;
    expect(String(served)).toBe(after.pki.etcdServer['rot-master-1']?.certPem);

    const at = (line: string) => commands.indexOf(line);
    const drain = (m: string) => at(`rot-lb: /bin/sh -c echo 'set server masters/${m} state drain; set server masters-listening/${m} state drain' | socat stdio UNIX-CONNECT:/run/haproxy-admin.sock`);
    const ready = (m: string) => at(`rot-lb: /bin/sh -c echo 'set server masters/${m} state ready; set server masters-listening/${m} state ready' | socat stdio UNIX-CONNECT:/run/haproxy-admin.sock`);
    const restart = (m: string) => at(`${m}: systemctl restart kube-apiserver.service kube-controller-manager.service kube-scheduler.service kube-proxy.service`);
    for (const m of ['rot-master-0', 'rot-master-1']) {
      expect(drain(m)).toBeGreaterThanOrEqual(0);
      expect(drain(m)).toBeLessThan(restart(m));
      expect(restart(m)).toBeLessThan(ready(m));
    }
    // One master at a time: the second is drained only after the first is back.
    expect(ready('rot-master-0')).toBeLessThan(drain('rot-master-1'));
    expect(ready('rot-master-1')).toBeLessThan(at('rot-worker-0: systemctl restart kubelet.service kube-proxy.service kube-router.service'));
    // etcd reads its files at every new connection: never restarted, so its quorum is never at stake.
    expect(commands.some((c) => c.includes('restart') && c.includes('etcd.service'))).toBe(false);
  }, 30_000);

  it("does not drain a cluster's only master: there is no other to send connections to", async () => {
    const engine = await fakeCluster(1);
    await rotate(engine, 1);
    expect(commands.some((c) => c.includes('state drain'))).toBe(false);
    expect(commands).toContain('rot-master-0: systemctl restart kube-apiserver.service kube-controller-manager.service kube-scheduler.service kube-proxy.service');
  }, 30_000);

  it('refuses --ca while a rotation of the leaves is unfinished, and the other way round, naming the command that continues it', async () => {
    const engine = await fakeCluster();
    script((node, line) => (node === 'rot-worker-0' && line.startsWith('systemctl restart kubelet') ? failed('Job for kubelet.service failed') : undefined));
    await expect(rotate(engine)).rejects.toThrow(/kubelet.service failed/);
    script(() => undefined);
    const before = await readFile(join(temporary.dir, 'state', 'clusters', 'rot', 'cluster.json'), 'utf8');
    commands.length = 0;
    const error = await rotate(engine, 2, true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(String(error)).toMatch(/stopped part-way: finish it with `kc rotate certificates --name rot`, then run --ca/);
    expect(commands).toEqual([]);
    expect(await readFile(join(temporary.dir, 'state', 'clusters', 'rot', 'cluster.json'), 'utf8')).toBe(before);
  }, 30_000);

  it('records each node as it is done; run again after a failure, it continues with the same certificates from the node that failed', async () => {
    const engine = await fakeCluster();
    script((node, line) => (node === 'rot-worker-0' && line.startsWith('systemctl restart kubelet') ? failed('Job for kubelet.service failed') : undefined));
    await expect(rotate(engine)).rejects.toThrow(/kubelet.service failed/);
    const stopped = (await loadState('rot'))!;
    expect(stopped.operation).toMatchObject({ kind: 'rotate-certificates', done: ['rot-master-0', 'rot-master-1'] });

    script(() => undefined);
    commands.length = 0;
    await rotate(engine);
    const finished = (await loadState('rot'))!;
    expect(finished.operation).toBeUndefined();
    // Not issued again: the certificates the masters already serve are the ones the state keeps.
    expect(finished.pki.apiServer.certPem).toBe(stopped.pki.apiServer.certPem);
    expect(String(engine.nodes.get('rot-worker-0')?.files.get(WORKER_FILES.kubeletCert)?.content)).toBe(finished.pki.kubelets['rot-worker-0']?.certPem);
    expect(commands.some((c) => c.includes('state drain'))).toBe(false);
    expect(commands).toContain('rot-worker-0: systemctl restart kubelet.service kube-proxy.service kube-router.service');
  }, 30_000);
});

/** The certificates in a PEM bundle, by subject. */
const subjectsIn = (bundle: string) => [...bundle.matchAll(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)].map(([pem]) => new X509Certificate(pem).subject);
const signedBy = (certPem: string, ca: CertKey) => new X509Certificate(certPem).verify(new X509Certificate(ca.certPem).publicKey);

describe('the phases of a CA rotation (pure but for the keys)', () => {
  it('trusts a new CA beside the old, then signs every leaf with it, then drops the old and remembers it', async () => {
    const plan = planCluster(spec(), '172.30.7.0/24');
    const pki = await generateClusterPki(plan);
    expect(subjectsIn(trustedCaPem(pki))).toEqual(['CN=rot-ca']);

    const trusting = await withNextCa(pki, plan);
    expect(trusting.ca).toEqual(pki.ca);
    expect(leavesOf(trusting)).toEqual(leavesOf(pki));
    expect(subjectsIn(trustedCaPem(trusting))).toEqual(['CN=rot-ca', 'CN=rot-ca-2']);

    const signing = await signedWithNextCa(trusting, plan);
    expect(signing.ca).toEqual(trusting.overlapCa);
    expect(signing.overlapCa).toEqual(pki.ca);
    expect(subjectsIn(trustedCaPem(signing))).toEqual(['CN=rot-ca-2', 'CN=rot-ca']);
    for (const [name, cert] of Object.entries(leavesOf(signing))) {
      // The aggregation layer keeps its own CA: only the cluster CA is rotated.
      expect(signedBy(cert, name === 'frontProxyClient' ? pki.frontProxyCa : signing.ca), name).toBe(true);
      expect(serial(cert), name).not.toBe(serial(leavesOf(pki)[name] ?? ''));
    }
    expect(signing.serviceAccount).toEqual(pki.serviceAccount);
    expect(signing.encryptionKey).toBe(pki.encryptionKey);

    const done = withoutPreviousCa(signing);
    expect(done.overlapCa).toBeUndefined();
    expect(subjectsIn(trustedCaPem(done))).toEqual(['CN=rot-ca-2']);
    expect(done.retiredCaFingerprints).toEqual([caFingerprint(pki.ca.certPem)]);
    // A snapshot taken under the old CA is still this cluster's.
    expect(ownCaFingerprints(done)).toEqual([caFingerprint(done.ca.certPem), caFingerprint(pki.ca.certPem)]);
    // The next rotation's CA has a name of its own.
    expect(new X509Certificate((await withNextCa(done, plan)).overlapCa!.certPem).subject).toBe('CN=rot-ca-3');
    await expect(withNextCa(trusting, plan)).rejects.toThrow(/already under way/);
  }, 30_000);

  it('lists the overlapping CA among the certificates while the rotation is under way', async () => {
    const plan = planCluster(spec(), '172.30.7.0/24');
    const trusting = await withNextCa(await generateClusterPki(plan), plan);
    expect(certificateInventory(plan, trusting).filter((c) => c.name.startsWith('ca')).map((c) => `${c.name} ${c.subject}`).sort()).toEqual(['ca rot-ca', 'ca-overlap rot-ca-2']);
  }, 30_000);

  it('refuses a state file whose rotation phase this kc does not know', async () => {
    await fakeCluster();
    const state = JSON.parse(await readFile(join(temporary.dir, 'state', 'clusters', 'rot', 'cluster.json'), 'utf8')) as Record<string, unknown>;
    const file = 'cluster.json';
    expect(() => migrateState({ ...state, operation: { kind: 'rotate-certificates', startedAt: 'x', done: [], caPhase: 'sign-with-next' } }, file, 'rot')).not.toThrow();
    expect(() => migrateState({ ...state, operation: { kind: 'rotate-certificates', startedAt: 'x', done: [], caPhase: 'shred' } }, file, 'rot')).toThrow(/an operation kc does not know/);
  }, 30_000);
});

/** kubectl's list of an add-on namespace's workloads, as a cluster with CoreDNS, metrics-server and MetalLB answers it. */
function addonWorkloads(_node: string, line: string) {
  if (!line.includes(' get deployments,daemonsets -n ')) return undefined;
  if (line.includes('-n kube-system ')) return ok('deployment.apps/coredns\ndeployment.apps/metrics-server\n');
  if (line.includes('-n metallb-system ')) return ok('deployment.apps/controller\ndaemonset.apps/speaker\n');
  return ok('');
}

describe('kc rotate certificates --ca on the fake engine', () => {
  it('rolls out three times (trust both, sign with the new, drop the old), restarting etcd and the add-ons when the trust changes', async () => {
    const engine = await fakeCluster();
    script(addonWorkloads);
    const before = (await loadState('rot'))!;
    const result = await rotate(engine, 2, true);
    const after = (await loadState('rot'))!;
    expect(result.ca).toBe('rot-ca-2');
    expect(after.operation).toBeUndefined();
    expect(after.pki.overlapCa).toBeUndefined();
    expect(after.pki.retiredCaFingerprints).toEqual([caFingerprint(before.pki.ca.certPem)]);
    expect(signedBy(after.pki.kubelets['rot-worker-0']!.certPem, after.pki.ca)).toBe(true);
    // Every node holds the new CA alone; the controller-manager signs with it.
    const file = (node: string, path: string) => String(engine.nodes.get(node)?.files.get(path)?.content);
    for (const master of ['rot-master-0', 'rot-master-1']) {
      expect(subjectsIn(file(master, MASTER_FILES.ca)), master).toEqual(['CN=rot-ca-2']);
      expect(subjectsIn(file(master, ETCD_FILES.ca)), master).toEqual(['CN=rot-ca-2']);
      expect(file(master, MASTER_FILES.caSigningCert)).toBe(after.pki.ca.certPem);
      expect(file(master, MASTER_FILES.caKey)).toBe(after.pki.ca.keyPem);
    }
    expect(subjectsIn(file('rot-worker-0', WORKER_FILES.ca))).toEqual(['CN=rot-ca-2']);
    const kubeconfig = await readFile(join(temporary.dir, 'kubeconfig'), 'utf8');
    expect(kubeconfig).toContain(Buffer.from(trustedCaPem(after.pki)).toString('base64'));
    expect(kubeconfig).toContain(Buffer.from(after.pki.admin.certPem).toString('base64'));

    // etcd restarts with each master when the trusted CAs change (phases 1 and 3), not when only its certificates do.
    const etcdRestarts = commands.filter((c) => c.endsWith(': systemctl restart etcd.service'));
    expect(etcdRestarts).toEqual(['rot-master-0: systemctl restart etcd.service', 'rot-master-1: systemctl restart etcd.service', 'rot-master-0: systemctl restart etcd.service', 'rot-master-1: systemctl restart etcd.service']);
    // Its API server stopped first (etcd would wait for its watches to end), started again after.
    for (const [i, line] of commands.entries()) {
      if (!line.endsWith(': systemctl restart etcd.service')) continue;
      const master = line.split(':')[0]!;
      expect(commands.slice(0, i).filter((c) => c.startsWith(`${master}: systemctl `)).pop()).toBe(`${master}: systemctl stop kube-apiserver.service`);
      expect(commands.slice(i + 1).find((c) => c.startsWith(`${master}: systemctl `))).toBe(`${master}: systemctl restart kube-apiserver.service kube-controller-manager.service kube-scheduler.service kube-proxy.service`);
    }
    const apiRestarts = commands.flatMap((c, i) => (c.includes('systemctl restart kube-apiserver.service') ? [i] : []));
    const workerRestarts = commands.flatMap((c, i) => (c.startsWith('rot-worker-0: systemctl restart kubelet.service') ? [i] : []));
    const addonRestarts = commands.flatMap((c, i) => (c.includes(' rollout restart ') ? [i] : []));
    expect(apiRestarts).toHaveLength(6);
    expect(workerRestarts).toHaveLength(3);
    // The add-ons restart after the last node of phases 1 and 3, each namespace's workloads at once; they are waited for.
    expect(addonRestarts.map((i) => commands[i]!.replace(/^.*rollout restart /, ''))).toEqual([
      '-n kube-system deployment.apps/coredns deployment.apps/metrics-server',
      '-n metallb-system deployment.apps/controller daemonset.apps/speaker',
      '-n kube-system deployment.apps/coredns deployment.apps/metrics-server',
      '-n metallb-system deployment.apps/controller daemonset.apps/speaker',
    ]);
    expect(addonRestarts[0]).toBeGreaterThan(workerRestarts[0]!);
    expect(addonRestarts[1]).toBeLessThan(apiRestarts[2]!);
    expect(addonRestarts[2]).toBeGreaterThan(workerRestarts[2]!);
    expect(commands.filter((c) => c.includes(' rollout status '))).toHaveLength(8);
    expect(result.restarted).toEqual(['kube-system/coredns', 'kube-system/metrics-server', 'metallb-system/controller', 'metallb-system/speaker']);
  }, 60_000);

  it('stopped in the second phase, continues it with the certificates it recorded and then drops the old CA; without --ca it is told how', async () => {
    const engine = await fakeCluster();
    script((node, line) => (node === 'rot-worker-0' && line.startsWith('systemctl restart kubelet') && commands.filter((c) => c.includes('restart kubelet')).length === 2 ? failed('Job for kubelet.service failed') : addonWorkloads(node, line)));
    await expect(rotate(engine, 2, true)).rejects.toThrow(/kubelet.service failed/);
    const stopped = (await loadState('rot'))!;
    expect(stopped.operation).toMatchObject({ kind: 'rotate-certificates', caPhase: 'sign-with-next', done: ['rot-master-0', 'rot-master-1'] });
    expect(subjectsIn(trustedCaPem(stopped.pki))).toEqual(['CN=rot-ca-2', 'CN=rot-ca']);

    const refused = await rotate(engine).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UsageError);
    expect(String(refused)).toMatch(/a CA rotation of cluster "rot" stopped part-way \(phase sign-with-next\): continue it with `kc rotate certificates --ca --name rot`/);

    script(addonWorkloads);
    commands.length = 0;
    await rotate(engine, 2, true);
    const finished = (await loadState('rot'))!;
    expect(finished.operation).toBeUndefined();
    expect(finished.pki.ca).toEqual(stopped.pki.ca);
    expect(finished.pki.kubelets).toEqual(stopped.pki.kubelets);
    expect(finished.pki.overlapCa).toBeUndefined();
    // Phase 2 went on with the worker only; phase 3 went over every node.
    expect(commands.filter((c) => c.includes('systemctl restart kube-apiserver.service'))).toHaveLength(2);
    expect(commands.filter((c) => c.startsWith('rot-worker-0: systemctl restart kubelet'))).toHaveLength(2);
  }, 60_000);
});
