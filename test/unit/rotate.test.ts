import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { rotateCertificates } from '../../src/cluster/lifecycle/rotate-certificates.js';
import { WORKER_FILES } from '../../src/components/worker-files.js';
import { defaultClusterSpec, DEFAULT_NODE_IMAGE } from '../../src/config/defaults.js';
import { planCluster, withNodeAdded } from '../../src/model/plan.js';
import { generateClusterPki, renewLeafCertificates, withNodePki } from '../../src/pki/cluster-pki.js';
import { certificateInventory } from '../../src/pki/inventory.js';
import type { CertKey, ClusterPki } from '../../src/pki/types.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { loadState } from '../../src/state/cluster-state.js';
import { UsageError } from '../../src/util/errors.js';
import { silentProgress } from '../../src/util/progress.js';
import { failed, healthyApi, recordedCluster, type RecordedCluster } from './fake-cluster.js';
import { useTemporaryStateDir } from './helpers.js';

const temporary = useTemporaryStateDir('kc-rotate-');
const spec = (controlPlanes = 2, workers = 1) => defaultClusterSpec({ name: 'rot', controlPlanes, workers, waitSeconds: 5 });
const serial = (pem: string) => new X509Certificate(pem).serialNumber;

/** Every leaf certificate of a PKI by its place in it (`kubelets.rot-worker-0`, ...): what a rotation renews. */
function leavesOf(pki: ClusterPki): Record<string, string> {
  const leaves: Record<string, string> = {};
  for (const [field, value] of Object.entries(pki)) {
    if (['ca', 'frontProxyCa', 'serviceAccount', 'encryptionKey'].includes(field)) continue;
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

  it('refuses --ca, saying what to do instead, and changes nothing', async () => {
    const engine = await fakeCluster();
    const before = await readFile(join(temporary.dir, 'state', 'clusters', 'rot', 'cluster.json'), 'utf8');
    const error = await rotate(engine, 2, true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(String(error)).toMatch(/--ca .* is not supported yet: `kc rotate certificates` without --ca renews every certificate/);
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
