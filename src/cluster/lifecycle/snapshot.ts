import { randomBytes } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { ETCD_SNAPSHOT_ON_NODE, etcdSnapshotSaveCommand, etcdSnapshotStatusCommand } from '../../components/etcd.js';
import { runsKubeRouter } from '../../components/index.js';
import { UNIT } from '../../components/units.js';
import type { ClusterPlan, NodePlan } from '../../model/plan.js';
import { execOrThrow, type NodeExec, type Provider } from '../../provider/provider.js';
import { withClusterLock } from '../../state/lock.js';
import { caFingerprint, ownCaFingerprints } from '../../pki/ca-rotation.js';
import {
  packSnapshot,
  sha256Hex,
  snapshotMismatch,
  SNAPSHOT_FORMAT_VERSION,
  unpackSnapshot,
  type SnapshotManifest,
} from '../../state/snapshot-archive.js';
import { Deadline } from '../../util/deadline.js';
import { UsageError } from '../../util/errors.js';
import { stopIfInterrupted } from '../../util/interrupt.js';
import type { Progress } from '../../util/progress.js';
import { counted } from '../../util/words.js';
import { hostApiOf, type ApiProbe } from '../kube/api.js';
import { waitForCoreDns, waitForKubeRouter, waitForNodesReady } from '../kube/waits.js';
import { readCluster, requireRunning } from '../ops/status.js';
import { concurrently } from '../../util/concurrent.js';
import { healthyMasters } from './moves/etcd.js';
import { planned, restoreEtcd, type MoveContext } from './moves/index.js';
import { runMoves, settleJournal } from './runner.js';

export interface SnapshotOptions {
  engine: Provider;
  progress: Progress;
  cluster: string;
  /** The snapshot file on the host. */
  file: string;
  /** Ctrl-C: the command stops at its next safe point (a save writes no file). */
  signal?: AbortSignal | undefined;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

interface SnapshotStatus {
  revision: number;
  totalKey: number;
}

/**
 * `kc snapshot save FILE`: etcd's snapshot from one healthy member, with a
 * manifest naming the cluster, its CA and the snapshot's checksum, written
 * atomically (0600: it holds every Secret of the cluster). An existing file
 * is never overwritten: a backup is not something to lose by a typo.
 */
export async function saveSnapshot(options: SnapshotOptions): Promise<SnapshotManifest> {
  if (await exists(options.file)) {
    throw new UsageError(`${options.file} already exists: give a new file name, or remove it first (kc never overwrites a snapshot)`);
  }
  return withClusterLock(options.cluster, async () => {
    const cluster = await readCluster(options.engine, options.cluster);
    const { plan, state } = cluster;
    const [master] = await healthyMasters(options.engine, plan, plan.masters.filter((m) => cluster.statusOf(m) === 'running'));
    if (!master) {
      throw new UsageError(`no etcd member of cluster "${plan.spec.name}" answers: start it first (kc start cluster --name ${plan.spec.name}), or restore a snapshot you have`);
    }
    const { db, status } = await options.progress.step(`Taking etcd's snapshot on ${master.name}`, async (note) => {
      const taken = await takeSnapshot(options.engine, plan, master);
      note(`revision ${taken.status.revision}, ${counted(taken.status.totalKey, 'key')}, ${(taken.db.length / 1024 / 1024).toFixed(1)} MiB`);
      return taken;
    });
    const manifest: SnapshotManifest = {
      formatVersion: SNAPSHOT_FORMAT_VERSION,
      cluster: plan.spec.name,
      caFingerprint: caFingerprint(state.pki.ca.certPem),
      image: plan.spec.nodeImage,
      takenFrom: master.name,
      takenAt: new Date().toISOString(),
      sha256: sha256Hex(db),
      size: db.length,
      revision: status.revision,
      totalKeys: status.totalKey,
    };
    // A safe point: nothing is written yet (and the snapshot in the node is gone already).
    stopIfInterrupted(options.signal);
    await options.progress.step(`Writing ${options.file}`, async () => {
      await writeFileAtomic(options.file, await packSnapshot(manifest, db), { mode: 0o600 });
    });
    return manifest;
  });
}

async function takeSnapshot(engine: NodeExec, plan: ClusterPlan, master: NodePlan): Promise<{ db: Buffer; status: SnapshotStatus }> {
  try {
    await execOrThrow(engine, master, etcdSnapshotSaveCommand(plan, master));
    const status = JSON.parse(await execOrThrow(engine, master, etcdSnapshotStatusCommand())) as SnapshotStatus;
    return { db: await engine.readFile(master, ETCD_SNAPSHOT_ON_NODE), status };
  } finally {
    await engine.exec(master, ['rm', '-f', ETCD_SNAPSHOT_ON_NODE]);
  }
}

export interface RestoreOptions extends SnapshotOptions {
  /** Restore a snapshot taken from another cluster (another CA). */
  fromOtherCluster: boolean;
  /** Seconds until every node is Ready again: one deadline for every wait. */
  waitSeconds: number;
  apiProbe?: ApiProbe;
}

export interface RestoreResult {
  manifest: SnapshotManifest;
  seconds: number;
}

/**
 * What reads the API on a worker: restarted after a restore so each lists
 * the restored objects afresh and posts its node's status at once.
 */
function workerUnits(plan: ClusterPlan): string[] {
  return [UNIT.kubelet, UNIT.kubeProxy, ...(runsKubeRouter(plan) ? [UNIT.kubeRouter] : [])];
}

async function readSnapshotFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `snapshot ${file} does not exist: give the file \`kc snapshot save\` wrote` : `cannot read snapshot ${file}: ${code ?? String(error)}`);
  }
}

/**
 * `kc snapshot restore FILE`: every master's etcd becomes a member of a new
 * etcd cluster made from the snapshot (moves/restore.ts: Kubernetes'
 * documented procedure), journaled as one move. Each master keeps its data
 * from before in `member.before-restore`. A failure before the API answers
 * again puts every master's data back and starts it as it was; a restore
 * stopped by Ctrl-C is taken back by the next command. Then the API's
 * clients restart to list the restored objects.
 */
export async function restoreSnapshot(options: RestoreOptions): Promise<RestoreResult> {
  const { manifest, db } = await unpackSnapshot(await readSnapshotFile(options.file), options.file);
  return withClusterLock(options.cluster, async () => {
    const started = Date.now();
    const { engine, progress } = options;
    const cluster = await readCluster(engine, options.cluster);
    requireRunning(cluster, 'restore a snapshot');
    const mismatch = snapshotMismatch(manifest, cluster.plan.spec.name, ownCaFingerprints(cluster.state.pki));
    if (mismatch && !options.fromOtherCluster) throw new UsageError(`snapshot ${options.file} ${mismatch}`);
    const deadline = new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'restore', options.signal);
    const ctx: MoveContext = { engine, progress, deadline, apiProbe: options.apiProbe };
    const { state } = await settleJournal(ctx, cluster.state);
    const { plan } = state;
    const command = `kc snapshot restore ${options.file}${options.fromOtherCluster ? ' --from-other-cluster' : ''} --name ${plan.spec.name}`;
    const token = `kc-${plan.spec.name}-restore-${randomBytes(4).toString('hex')}`;
    const restore = { subject: `the etcd data of ${plan.masters.map((m) => m.name).join(', ')}`, make: async () => planned(restoreEtcd(db), { kind: 'restore', token, revision: manifest.revision, step: 0, stepDone: false }) };
    await runMoves({ ...ctx, command }, state, [restore], { past: 'restored', retry: () => command });
    // From here the restored data serves the API: a failure leaves it so, and says which wait failed.
    const api = hostApiOf(state, options.apiProbe);
    const restartedAt = Date.now();
    await progress.step('Restarting kubelets and proxies, waiting for nodes', async (note) => {
      await concurrently(plan.workers, (w) => execOrThrow(engine, w, ['systemctl', 'restart', ...workerUnits(plan)]));
      const workerNames = plan.workers.map((w) => w.name);
      await waitForNodesReady(api, workerNames, deadline, { fresh: { started: new Set(workerNames), since: restartedAt } });
      await waitForCoreDns(api, deadline);
      if (runsKubeRouter(plan)) await waitForKubeRouter({ engine, plan, deadline });
      note(`${counted(plan.workers.length, 'worker')} Ready`);
    });
    return { manifest, seconds: (Date.now() - started) / 1000 };
  });
}
