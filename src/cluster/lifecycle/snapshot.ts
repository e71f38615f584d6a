import { randomBytes } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import {
  ETCD_SNAPSHOT_ON_NODE,
  etcdRestoreScript,
  etcdSnapshotSaveCommand,
  etcdSnapshotStatusCommand,
  etcdUnrestoreScript,
} from '../../components/etcd.js';
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
import type { Progress } from '../../util/progress.js';
import { counted } from '../../util/words.js';
import { hostApiOf, type ApiProbe } from '../kube/api.js';
import { waitForApiServer, waitForCoreDns, waitForEtcd, waitForKubeRouter, waitForNodesReady } from '../kube/waits.js';
import { readCluster, requireRunning } from '../ops/status.js';
import { healthyMasters } from './etcd-membership.js';
import { changeStep, UndoLog } from './undo.js';

export interface SnapshotOptions {
  engine: Provider;
  progress: Progress;
  cluster: string;
  /** The snapshot file on the host. */
  file: string;
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
    await options.progress.step(`Writing ${options.file}`, async () => {
      await writeFileAtomic(options.file, await packSnapshot(manifest, db), { mode: 0o600 });
    });
    return manifest;
  });
}

async function takeSnapshot(engine: NodeExec, plan: ClusterPlan, master: NodePlan): Promise<{ db: Buffer; status: SnapshotStatus }> {
  try {
    await execOrThrow(engine, master.name, etcdSnapshotSaveCommand(plan, master));
    const status = JSON.parse(await execOrThrow(engine, master.name, etcdSnapshotStatusCommand())) as SnapshotStatus;
    return { db: await engine.readFile(master.name, ETCD_SNAPSHOT_ON_NODE), status };
  } finally {
    await engine.exec(master.name, ['rm', '-f', ETCD_SNAPSHOT_ON_NODE]);
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

/** The API server's clients on a master, stopped before etcd and started after it. */
const API_UNITS = [UNIT.apiServer, UNIT.controllerManager, UNIT.scheduler];

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

/** A command on every master at once (etcd members start together: each waits for a quorum), failing with the first refusal. */
async function onMasters(engine: NodeExec, plan: ClusterPlan, command: string[]): Promise<void> {
  await Promise.all(plan.masters.map((m) => execOrThrow(engine, m.name, command)));
}

/**
 * `kc snapshot restore FILE`: every master's etcd becomes a member of a new
 * etcd cluster made from the snapshot (Kubernetes' documented procedure:
 * API servers stopped, every member restored, API servers started, the
 * API's clients restarted). Each master keeps its data from before in
 * `member.before-restore`. A failure before the API answers again puts every
 * master's data back and starts it as it was.
 */
export async function restoreSnapshot(options: RestoreOptions): Promise<RestoreResult> {
  const { manifest, db } = await unpackSnapshot(await readSnapshotFile(options.file), options.file);
  return withClusterLock(options.cluster, async () => {
    const started = Date.now();
    const cluster = await readCluster(options.engine, options.cluster);
    requireRunning(cluster, 'restore a snapshot');
    const { plan, state } = cluster;
    const mismatch = snapshotMismatch(manifest, plan.spec.name, ownCaFingerprints(state.pki));
    if (mismatch && !options.fromOtherCluster) throw new UsageError(`snapshot ${options.file} ${mismatch}`);
    const deadline = new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'restore');
    const { engine, progress } = options;
    const undo = new UndoLog();
    const nextStep = `Run \`kc snapshot restore ${options.file} --name ${plan.spec.name}\` again, or see \`kc export logs --name ${plan.spec.name}\`.`;
    const step = <T>(title: string, work: (note: (detail: string) => void) => Promise<T>) => changeStep(progress, undo, title, nextStep, work);

    await step('Stopping the API servers and etcd', async () => {
      undo.push('starting etcd and the API servers again', async () => {
        await onMasters(engine, plan, ['systemctl', 'start', UNIT.etcd]);
        await onMasters(engine, plan, ['systemctl', 'start', ...API_UNITS]);
      });
      await onMasters(engine, plan, ['systemctl', 'stop', ...API_UNITS]);
      await onMasters(engine, plan, ['systemctl', 'stop', UNIT.etcd]);
    });
    await step(`Restoring revision ${manifest.revision} on ${counted(plan.masters.length, 'master')}`, async (note) => {
      const token = `kc-${plan.spec.name}-restore-${randomBytes(4).toString('hex')}`;
      await Promise.all(
        plan.masters.map(async (master) => {
          undo.push(`putting back the etcd data of ${master.name}`, () => execOrThrow(engine, master.name, ['/bin/sh', '-c', etcdUnrestoreScript()]).then(() => undefined));
          await engine.copyFiles(master.name, [{ path: ETCD_SNAPSHOT_ON_NODE, content: db, mode: 0o600 }]);
          const restored = await engine.exec(master.name, ['/bin/sh', '-c', etcdRestoreScript(plan, master, token)]);
          if (restored.exitCode !== 0) throw new Error(`the snapshot could not become ${master.name}'s etcd data: ${(restored.stderr || restored.stdout).trim()}`);
        }),
      );
      note(`taken ${manifest.takenAt} from ${manifest.takenFrom}`);
    });
    const api = hostApiOf(state, options.apiProbe);
    await step('Starting etcd and the API servers', async (note) => {
      // Every member at once: each one's start waits for a quorum of the others.
      await onMasters(engine, plan, ['systemctl', 'start', UNIT.etcd]);
      await waitForEtcd({ engine, plan, deadline });
      await onMasters(engine, plan, ['systemctl', 'start', ...API_UNITS]);
      await waitForApiServer(api, deadline);
      note(api.server);
    });
    // From here the restored data serves the API: a failure leaves it so, and says which wait failed.
    const restartedAt = Date.now();
    await progress.step('Restarting kubelets and proxies, waiting for nodes', async (note) => {
      await Promise.all(plan.workers.map((w) => execOrThrow(engine, w.name, ['systemctl', 'restart', ...workerUnits(plan)])));
      const workerNames = plan.workers.map((w) => w.name);
      await waitForNodesReady(api, workerNames, deadline, { fresh: { started: new Set(workerNames), since: restartedAt } });
      await waitForCoreDns(api, deadline);
      if (runsKubeRouter(plan)) await waitForKubeRouter({ engine, plan, deadline });
      note(`${counted(plan.workers.length, 'worker')} Ready`);
    });
    return { manifest, seconds: (Date.now() - started) / 1000 };
  });
}
