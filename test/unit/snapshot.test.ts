import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { restoreSnapshot, saveSnapshot } from '../../src/cluster/lifecycle/snapshot.js';
import { ChangeStoppedError } from '../../src/cluster/lifecycle/runner.js';
import { ETCD_SNAPSHOT_ON_NODE, etcdRestoreScript, etcdUnrestoreScript } from '../../src/components/etcd.js';
import { defaultClusterSpec, DEFAULT_NODE_IMAGE } from '../../src/config/defaults.js';
import { planCluster } from '../../src/model/plan.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import type { ExecResult } from '../../src/provider/provider.js';
import { caFingerprint } from '../../src/pki/ca-rotation.js';
import {
  packSnapshot,
  sha256Hex,
  SnapshotFileError,
  snapshotMismatch,
  unpackSnapshot,
  type SnapshotManifest,
} from '../../src/state/snapshot-archive.js';
import { loadState } from '../../src/state/cluster-state.js';
import { UsageError } from '../../src/util/errors.js';
import { silentProgress } from '../../src/util/progress.js';
import { createFakeCluster, failed, healthyApi, healthyCluster, ok } from './fake-cluster.js';
import { useTemporaryStateDir } from './helpers.js';

const temporary = useTemporaryStateDir('kc-snapshot-');
const spec = (name = 'snap') => defaultClusterSpec({ name, controlPlanes: 3, workers: 1, waitSeconds: 5 });
const DB = Buffer.from('bolt db bytes \u0000\u0001\u0002');
const STATUS = '{"hash":1,"revision":4242,"totalKey":311,"totalSize":2048}';

function manifestFor(db: Buffer, overrides: Partial<SnapshotManifest> = {}): SnapshotManifest {
  return {
    formatVersion: 1,
    cluster: 'snap',
    caFingerprint: 'AA:BB',
    image: DEFAULT_NODE_IMAGE,
    takenFrom: 'snap-master-0',
    takenAt: '2026-12-05T12:00:00.000Z',
    sha256: sha256Hex(db),
    size: db.length,
    revision: 4242,
    totalKeys: 311,
    ...overrides,
  };
}

describe('snapshot files (pure)', () => {
  it("round-trips etcd's snapshot and its manifest, and gives the same bytes for the same input", async () => {
    const packed = await packSnapshot(manifestFor(DB), DB);
    expect(packed.equals(await packSnapshot(manifestFor(DB), DB))).toBe(true);
    const { manifest, db } = await unpackSnapshot(packed, 'a.snap');
    expect(db.equals(DB)).toBe(true);
    expect(manifest).toEqual(manifestFor(DB));
  });

  it('refuses a damaged snapshot, a file that is not one, and one from a newer kc, naming the file and what to do', async () => {
    const damaged = await packSnapshot(manifestFor(DB, { sha256: sha256Hex(Buffer.from('other')) }), DB);
    await expect(unpackSnapshot(damaged, 'a.snap')).rejects.toThrow(/snapshot a.snap is damaged: etcd.db has SHA-256 [0-9a-f]{64}/);
    await expect(unpackSnapshot(Buffer.from('hello'), 'b.snap')).rejects.toThrow(/snapshot b.snap is not a kc snapshot/);
    await expect(unpackSnapshot(gzipSync(Buffer.alloc(1024)), 'c.snap')).rejects.toThrow(/c.snap lacks kc-snapshot.json/);
    const newer = await packSnapshot({ ...manifestFor(DB), formatVersion: 2 } as unknown as SnapshotManifest, DB);
    await expect(unpackSnapshot(newer, 'd.snap')).rejects.toThrow(/written by a newer kc \(format 2; this kc reads up to 1\)/);
    await expect(unpackSnapshot(newer, 'd.snap')).rejects.toBeInstanceOf(SnapshotFileError);
  });

  it("tells another cluster's snapshot by its CA, and says how to restore it anyway", () => {
    expect(snapshotMismatch(manifestFor(DB), 'snap', ['AA:BB'])).toBeUndefined();
    // Taken before the cluster's CA was rotated: still its own.
    expect(snapshotMismatch(manifestFor(DB), 'snap', ['EE:FF', 'AA:BB'])).toBeUndefined();
    expect(snapshotMismatch(manifestFor(DB, { cluster: 'prod' }), 'snap', ['CC:DD'])).toMatch(/taken from cluster "prod" \(CA AA:BB…\), not from "snap" \(CA CC:DD…\).*--from-other-cluster/);
  });

  it('restores each master as a member of a new cluster of every master, past every revision a client saw, keeping the old data aside', () => {
    const plan = planCluster(spec(), '172.30.8.0/24');
    const script = etcdRestoreScript(plan, plan.masters[1]!, 'kc-snap-restore-1');
    expect(script).toContain(
      `etcdutl snapshot restore ${ETCD_SNAPSHOT_ON_NODE} --data-dir=/var/lib/etcd/kc-restore --name=snap-master-1 ` +
        '--initial-cluster=snap-master-0=https://snap-master-0:2380,snap-master-1=https://snap-master-1:2380,snap-master-2=https://snap-master-2:2380 ' +
        '--initial-cluster-token=kc-snap-restore-1 --initial-advertise-peer-urls=https://snap-master-1:2380 --bump-revision=1000000000 --mark-compacted',
    );
    const lines = script.split('\n');
    const setAside = lines.findIndex((l) => l.includes('mv /var/lib/etcd/member /var/lib/etcd/member.before-restore'));
    expect(lines.findIndex((l) => l.startsWith('etcdutl'))).toBeLessThan(setAside);
    // Marked with the restore's token before the data moves: its undo puts back only what it set aside.
    expect(lines.findIndex((l) => l === "echo 'kc-snap-restore-1' > /var/lib/etcd/kc-restore-token")).toBeLessThan(setAside);
    const back = etcdUnrestoreScript('kc-snap-restore-1').split('\n');
    expect(back).toContain(`if [ "$(cat /var/lib/etcd/kc-restore-token 2>/dev/null)" = 'kc-snap-restore-1' ]; then`);
    expect(back).toContain('  if [ -d /var/lib/etcd/member.before-restore ]; then rm -rf /var/lib/etcd/member && mv /var/lib/etcd/member.before-restore /var/lib/etcd/member; fi');
  });
});

let commands: string[] = [];
let scripted: (node: string, line: string) => ExecResult | undefined = () => undefined;

async function fakeCluster(name = 'snap'): Promise<FakeEngine> {
  const engine = new FakeEngine({ images: [DEFAULT_NODE_IMAGE] });
  const healthy = healthyCluster();
  scripted = () => undefined;
  engine.onExec = (node, command) => {
    const line = command.join(' ');
    commands.push(`${node.spec.name}: ${line}`);
    // etcdctl writes the snapshot in the node; etcdutl reports on it.
    if (line.includes(`snapshot save ${ETCD_SNAPSHOT_ON_NODE}`)) node.files.set(ETCD_SNAPSHOT_ON_NODE, { path: ETCD_SNAPSHOT_ON_NODE, content: DB });
    if (line.startsWith('etcdutl snapshot status')) return ok(STATUS);
    return scripted(node.spec.name, line) ?? healthy(node, command);
  };
  await createFakeCluster(engine, spec(name), join(temporary.dir, 'kubeconfig'));
  engine.calls.length = 0;
  commands = [];
  return engine;
}

const restore = (engine: FakeEngine, file: string, fromOtherCluster = false, cluster = 'snap') =>
  restoreSnapshot({ engine, progress: silentProgress, cluster, file, fromOtherCluster, waitSeconds: 5, apiProbe: healthyApi(spec(cluster)) });

describe('kc snapshot save / restore on the fake engine', () => {
  it("saves one member's snapshot with the cluster's CA and checksum, 0600, and leaves nothing on the node", async () => {
    const engine = await fakeCluster();
    const file = join(temporary.dir, 'one.snap');
    const manifest = await saveSnapshot({ engine, progress: silentProgress, cluster: 'snap', file });
    const state = await loadState('snap');
    expect(manifest).toMatchObject({ cluster: 'snap', caFingerprint: caFingerprint(state!.pki.ca.certPem), revision: 4242, totalKeys: 311, sha256: sha256Hex(DB), image: DEFAULT_NODE_IMAGE });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const { db } = await unpackSnapshot(await readFile(file), file);
    expect(db.equals(DB)).toBe(true);
    expect(commands).toContain(`${manifest.takenFrom}: rm -f ${ETCD_SNAPSHOT_ON_NODE}`);
  }, 30_000);

  it('never overwrites a file, and says so before touching the cluster', async () => {
    const engine = await fakeCluster();
    const file = join(temporary.dir, 'taken.snap');
    await writeFile(file, 'mine');
    await expect(saveSnapshot({ engine, progress: silentProgress, cluster: 'snap', file })).rejects.toThrow(/taken.snap already exists: give a new file name/);
    expect(commands).toEqual([]);
    expect(await readFile(file, 'utf8')).toBe('mine');
  }, 30_000);

  it('restores in the documented order: API servers, then etcd stopped; every member restored; etcd, then API servers started; workers re-list', async () => {
    const engine = await fakeCluster();
    const file = join(temporary.dir, 'one.snap');
    await saveSnapshot({ engine, progress: silentProgress, cluster: 'snap', file });
    commands = [];
    const result = await restore(engine, file);
    expect(result.manifest.revision).toBe(4242);
    const at = (pattern: string) => commands.findIndex((c) => c.includes(pattern));
    const lastAt = (pattern: string) => commands.map((c) => c.includes(pattern)).lastIndexOf(true);
    const masters = ['snap-master-0', 'snap-master-1', 'snap-master-2'];
    for (const master of masters) {
      expect(commands).toContain(`${master}: systemctl stop kube-apiserver.service kube-controller-manager.service kube-scheduler.service`);
      expect(commands.some((c) => c.startsWith(`${master}: /bin/sh -c set -eu`) && c.includes(`--name=${master}`))).toBe(true);
      expect(String(engine.nodes.get(master)?.files.get(ETCD_SNAPSHOT_ON_NODE)?.content)).toBe(String(DB));
    }
    expect(lastAt('systemctl stop kube-apiserver')).toBeLessThan(at('systemctl stop etcd.service'));
    expect(lastAt('systemctl stop etcd.service')).toBeLessThan(at('etcdutl snapshot restore'));
    expect(lastAt('etcdutl snapshot restore')).toBeLessThan(at('systemctl start etcd.service'));
    expect(lastAt('systemctl start etcd.service')).toBeLessThan(at('systemctl start kube-apiserver'));
    expect(lastAt('systemctl start kube-apiserver')).toBeLessThan(at('snap-worker-0: systemctl restart kubelet.service kube-proxy.service kube-router.service'));
    // One token for every member: they form one new cluster.
    const tokens = new Set(commands.flatMap((c) => [...c.matchAll(/--initial-cluster-token=(\S+)/g)].map((m) => m[1])));
    expect(tokens.size).toBe(1);
  }, 30_000);

  it("refuses another cluster's snapshot before changing anything, and restores it when told to", async () => {
    const otherEngine = await fakeCluster('other');
    const file = join(temporary.dir, 'other.snap');
    await saveSnapshot({ engine: otherEngine, progress: silentProgress, cluster: 'other', file });
    const engine = await fakeCluster();
    const error = await restore(engine, file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(String(error)).toMatch(/taken from cluster "other".*--from-other-cluster/);
    expect(commands).toEqual([]);
    await expect(restore(engine, file, true)).resolves.toMatchObject({ manifest: { cluster: 'other' } });
  }, 60_000);

  it('takes a failed restore back: every master gets its data back, and etcd and the API servers start again', async () => {
    const engine = await fakeCluster();
    const file = join(temporary.dir, 'one.snap');
    await saveSnapshot({ engine, progress: silentProgress, cluster: 'snap', file });
    commands = [];
    scripted = (node, line) => (node === 'snap-master-2' && line.includes('etcdutl snapshot restore') ? failed('Error: snapshot file has no space left') : undefined);
    const error = await restore(engine, file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChangeStoppedError);
    expect(String(error)).toMatch(/Restoring revision 4242 on 3 masters failed: .*no space left[\s\S]*the cluster is as it was/);
    const token = /--initial-cluster-token=(\S+)/.exec(commands.find((c) => c.includes('--initial-cluster-token=')) ?? '')?.[1] ?? '';
    const unrestore = etcdUnrestoreScript(token);
    for (const master of ['snap-master-0', 'snap-master-1', 'snap-master-2']) {
      expect(commands).toContain(`${master}: /bin/sh -c ${unrestore}`);
      expect(commands.lastIndexOf(`${master}: /bin/sh -c ${unrestore}`)).toBeLessThan(commands.lastIndexOf(`${master}: systemctl start etcd.service`));
      expect(commands).toContain(`${master}: systemctl start kube-apiserver.service kube-controller-manager.service kube-scheduler.service`);
    }
    expect(commands.some((c) => c.includes('restart kubelet'))).toBe(false);
  }, 30_000);

  it('refuses a missing or damaged file before taking the lock or touching a node', async () => {
    const engine = await fakeCluster();
    await expect(restore(engine, join(temporary.dir, 'none.snap'))).rejects.toThrow(/none.snap does not exist/);
    const damaged = join(temporary.dir, 'damaged.snap');
    await writeFile(damaged, await packSnapshot(manifestFor(DB, { size: 1 }), DB));
    await expect(restore(engine, damaged)).rejects.toThrow(/damaged.snap is damaged/);
    expect(commands).toEqual([]);
  }, 30_000);
});
