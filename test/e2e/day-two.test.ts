import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNIT } from '../../src/components/units.js';
import { waitUntil } from '../../src/util/poll.js';
import { PATHS } from '../../src/components/paths.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { execOrThrow } from '../../src/provider/provider.js';
import { loadState } from '../../src/state/cluster-state.js';
import { unpackSnapshot } from '../../src/state/snapshot-archive.js';
import { adminAccess, apiRequest, startApiLoad, withBusyCores } from './api-load.js';
import { kubectlFor } from './cluster-helpers.js';
import { expectOk, kc, testClusterName, type CliResult } from './helpers.js';

/**
 * A cluster that ages: its etcd saved to a file and brought back, with the
 * objects made in between gone, and again after every master lost its etcd
 * data. The default shape (2 masters, 2 workers); every check a real request.
 */
const NAME = testClusterName('day2');
const CONTEXT = `kc-${NAME}`;
const MASTERS = [`${NAME}-master-0`, `${NAME}-master-1`];
const engine = new DockerEngine();
let dir: string;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;

async function configMaps(): Promise<string[]> {
  const out = await kubectl(['get', 'configmaps', '-n', 'default', '-l', 'kc-e2e=day2', '-o', 'jsonpath={.items[*].metadata.name}']);
  return out.split(/\s+/).filter(Boolean).sort();
}

async function makeConfigMap(name: string): Promise<void> {
  await kubectl(['create', 'configmap', name, '-n', 'default', '--from-literal=made=yes']);
  await kubectl(['label', 'configmap', name, '-n', 'default', 'kc-e2e=day2']);
}

/** Every node Ready, and a new pod runs (the scheduler, the controllers and a kubelet work on the restored data). */
async function expectUsable(pod: string): Promise<void> {
  await kubectl(['wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=120s']);
  await kubectl(['run', pod, '--image=registry.k8s.io/pause:3.10.2', '--image-pull-policy=Never', '--restart=Never']);
  await kubectl(['wait', '--for=condition=Ready', `pod/${pod}`, '--timeout=120s']);
}

/** The certificate a TLS server presents at host:port (reached from this host on the cluster's network). */
function servedCertificate(host: string, port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, servername: host.match(/^[\d.]+$/) ? undefined : host }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(cert);
      else reject(new Error(`${host}:${port} presented no certificate`));
    });
    socket.on('error', reject);
  });
}

async function servedSerial(host: string, port: number): Promise<string> {
  return (await servedCertificate(host, port)).serialNumber;
}

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;

describe('day-2: etcd snapshots and certificate rotation', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-day2-'));
    kubeconfig = join(dir, 'kubeconfig');
    kubectl = kubectlFor(kubeconfig, CONTEXT);
    await kc(['delete', 'cluster', '--name', NAME]);
    await expectOk(['create', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
  }, 600_000);

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('saves a snapshot, restores it (what came after is gone, what came before is back) and refuses to overwrite a file', async () => {
    const file = join(dir, 'before.snap');
    await makeConfigMap('before');
    const saved = await expectOk(['snapshot', 'save', file, '--name', NAME]);
    expect(saved.stderr).toMatch(/Saved cluster ".*" at etcd revision \d+ to .*before\.snap \(SHA-256 of etcd\.db [0-9a-f]{64}\)/);
    const { manifest } = await unpackSnapshot(await readFile(file), file);
    expect(manifest.cluster).toBe(NAME);

    const refused = await kc(['snapshot', 'save', file, '--name', NAME]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/before\.snap already exists/);

    await makeConfigMap('after');
    await kubectl(['delete', 'configmap', 'before', '-n', 'default']);
    expect(await configMaps()).toEqual(['after']);
    const restored = await expectOk(['snapshot', 'restore', file, '--name', NAME]);
    expect(restored.stderr).toMatch(new RegExp(`Restored cluster "${NAME}" to etcd revision ${manifest.revision}`));
    expect(await configMaps()).toEqual(['before']);
    await expectUsable('after-restore');
  }, 600_000);

  it('restores a cluster whose every master lost its etcd data', async () => {
    const file = join(dir, 'before.snap');
    try {
      for (const master of MASTERS) {
        await execOrThrow(engine, master, ['systemctl', 'stop', UNIT.apiServer, UNIT.etcd]);
        await execOrThrow(engine, master, ['rm', '-rf', `${PATHS.etcdData}/member`, `${PATHS.etcdData}/member.before-restore`]);
      }
      await expectOk(['snapshot', 'restore', file, '--name', NAME]);
    } finally {
      // Whatever happened, the next test finds every master's units running (a restore that failed restarts them too).
      for (const master of MASTERS) await engine.exec(master, ['systemctl', 'start', UNIT.etcd, UNIT.apiServer]);
    }
    expect(await configMaps()).toEqual(['before']);
    await expectUsable('after-lost-data');
  }, 600_000);

  it('refuses a damaged snapshot by its checksum, and changes nothing', async () => {
    const original = await readFile(join(dir, 'before.snap'));
    const tar = gunzipSync(original);
    // Flip one byte in the middle of etcd.db (after the manifest's tar entry).
    tar[tar.length - 2048] = (tar[tar.length - 2048] ?? 0) ^ 0xff;
    const damaged = join(dir, 'damaged.snap');
    await writeFile(damaged, gzipSync(tar));
    await makeConfigMap('kept');
    const result = await kc(['snapshot', 'restore', damaged, '--name', NAME]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/damaged\.snap is damaged: etcd\.db has SHA-256/);
    expect(await configMaps()).toEqual(['before', 'kept']);
  }, 120_000);

  it('rotates every certificate one node at a time while reads and writes through the lb all succeed', async () => {
    const before = (await loadState(NAME))!;
    const load = startApiLoad(await adminAccess(kubeconfig, CONTEXT));
    let samples: Awaited<ReturnType<typeof load.stop>> = [];
    let rotated: CliResult;
    try {
      rotated = await kc(['rotate', 'certificates', '--name', NAME]);
    } finally {
      samples = await load.stop();
    }
    expect(rotated.code, rotated.stderr).toBe(0);
    const failed = samples.filter((s) => !s.ok).map((s) => `${s.kind} at +${s.started - samples[0]!.started}ms: ${s.error}`);
    process.stderr.write(`  rotation: ${samples.length} requests through the lb, ${failed.length} failed${failed.length ? `: ${failed.join('; ')}` : ''}\n${rotated.stderr}`);
    expect(failed).toEqual([]);
    expect(samples.length).toBeGreaterThan(20);

    const after = (await loadState(NAME))!;
    expect(after.pki.ca).toEqual(before.pki.ca);
    // What each component serves now is the new certificate: the API server through the lb, etcd on every master, every kubelet.
    const access = await adminAccess(kubeconfig, CONTEXT);
    const url = new URL(access.server);
    expect(await servedSerial(url.hostname, Number(url.port))).toBe(serialOf(after.pki.apiServer.certPem));
    for (const master of after.plan.masters) {
      expect(await servedSerial(master.ip, 2379), master.name).toBe(serialOf(after.pki.etcdServer[master.name]!.certPem));
    }
    for (const worker of after.plan.workers) {
      expect(await servedSerial(worker.ip, 10250), worker.name).toBe(serialOf(after.pki.kubelets[worker.name]!.certPem));
    }
    // The user's kubeconfig holds the new admin certificate, and it works.
    expect(access.tls.cert.toString()).toBe(after.pki.admin.certPem);
    await expectUsable('after-rotation');
    const listed = JSON.parse((await expectOk(['get', 'certificates', '--name', NAME, '--json'])).stdout) as { name: string; notAfter: string }[];
    const apiServer = listed.find((c) => c.name === 'kube-apiserver');
    expect(new Date(apiServer!.notAfter).toISOString()).toBe(new Date(new X509Certificate(after.pki.apiServer.certPem).validTo).toISOString());
  }, 600_000);

  it('replaces the CA (trusted beside the old, then signing, then alone) while reads and writes through the lb all succeed, both cores busy', async () => {
    const before = (await loadState(NAME))!;
    // Each request reads the kubeconfig anew, as kubectl does: kc rewrites it at each phase.
    const load = startApiLoad(() => adminAccess(kubeconfig, CONTEXT));
    let rotated: CliResult;
    let samples: Awaited<ReturnType<typeof load.stop>> = [];
    try {
      // As on a loaded CI runner: each etcd restart leaves two members without a quorum for its length.
      rotated = await withBusyCores(() => kc(['rotate', 'certificates', '--ca', '--name', NAME]));
    } finally {
      samples = await load.stop();
    }
    expect(rotated.code, rotated.stderr).toBe(0);
    const failed = samples.filter((s) => !s.ok).map((s) => `${s.kind} at +${s.started - samples[0]!.started}ms: ${s.error}`);
    process.stderr.write(`  CA rotation: ${samples.length} requests through the lb, ${failed.length} failed${failed.length ? `: ${failed.join('; ')}` : ''}\n${rotated.stderr}`);
    expect(failed).toEqual([]);
    expect(rotated.stderr).toMatch(new RegExp(`Rotated the CA \\(now ${NAME}-ca-2\\) and \\d+ certificates`));

    const after = (await loadState(NAME))!;
    expect(after.operation).toBeUndefined();
    expect(after.pki.overlapCa).toBeUndefined();
    const newCa = new X509Certificate(after.pki.ca.certPem);
    const oldCa = new X509Certificate(before.pki.ca.certPem);
    expect(newCa.subject).toBe(`CN=${NAME}-ca-2`);
    // What every component serves now is signed by the new CA, not the old: the API server through the lb, etcd, every kubelet.
    const access = await adminAccess(kubeconfig, CONTEXT);
    const url = new URL(access.server);
    const served = [await servedCertificate(url.hostname, Number(url.port))];
    for (const master of after.plan.masters) served.push(await servedCertificate(master.ip, 2379));
    for (const worker of after.plan.workers) served.push(await servedCertificate(worker.ip, 10250));
    for (const cert of served) {
      expect(cert.verify(newCa.publicKey), cert.subject).toBe(true);
      expect(cert.verify(oldCa.publicKey), cert.subject).toBe(false);
    }
    // The user's kubeconfig trusts the new CA alone, and a client certificate of the old CA is refused.
    expect(access.tls.ca.toString()).toBe(after.pki.ca.certPem);
    const oldClient = await apiRequest({ ...access, tls: { ...access.tls, cert: Buffer.from(before.pki.admin.certPem), key: Buffer.from(before.pki.admin.keyPem) } }, 'read');
    expect(oldClient.error).toBe('HTTP 401');
    // The add-ons were restarted on the new bundle: metrics-server reaches every kubelet (new CA) and the API.
    await waitUntil('kubectl top nodes to give figures for every worker', async () => {
      const top = await kubectl(['top', 'nodes', '--no-headers']).catch((error: unknown) => String(error));
      return after.plan.workers.every((w) => new RegExp(`^${w.name}\\s+\\d+m\\s`, 'm').test(top)) || top;
    }, { timeoutMs: 180_000, intervalMs: 2000 });
    await expectUsable('after-ca-rotation');
    // A snapshot taken under the old CA is still this cluster's.
    const restored = await expectOk(['snapshot', 'restore', join(dir, 'before.snap'), '--name', NAME]);
    expect(restored.stderr).toMatch(/Restored cluster/);
    await expectUsable('after-old-snapshot');
  }, 900_000);
});
