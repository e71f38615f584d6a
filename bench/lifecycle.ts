/**
 * The lifecycle part of `npm run bench`: on one cluster (2 masters, 1
 * worker), each round adds a worker and a master, removes them again, and
 * stops and starts the cluster; every operation is timed as the user runs it
 * (the pipeline functions behind `kc create node`, `kc delete node`, `kc stop
 * cluster`, `kc start cluster`), then takes an etcd snapshot, restores it and
 * rotates every certificate, then the CA (`kc snapshot save|restore`,
 * `kc rotate certificates [--ca]`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCluster } from '../src/cluster/create/create.js';
import { deleteCluster } from '../src/cluster/ops/delete.js';
import { addNodes } from '../src/cluster/lifecycle/add-node.js';
import { removeNodes } from '../src/cluster/lifecycle/remove-node.js';
import { startCluster, stopCluster } from '../src/cluster/lifecycle/stop-start.js';
import { restoreSnapshot, saveSnapshot } from '../src/cluster/lifecycle/snapshot.js';
import { rotateCertificates } from '../src/cluster/lifecycle/rotate-certificates.js';
import { defaultClusterSpec } from '../src/config/defaults.js';
import type { ChangeableRole } from '../src/model/plan.js';
import type { SingleEngine } from '../src/provider/provider.js';
import { silentProgress } from '../src/util/progress.js';

export const LIFECYCLE_OPERATIONS = ['add worker', 'add master', 'remove master', 'remove worker', 'stop', 'start', 'snapshot save', 'snapshot restore', 'rotate certificates', 'rotate CA'] as const;
export type LifecycleOperation = (typeof LIFECYCLE_OPERATIONS)[number];

export interface LifecycleBenchOptions {
  engine: SingleEngine;
  cluster: string;
  kubeconfigPath: string;
  nodeImage?: string;
  rounds: number;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await work();
  return (Date.now() - started) / 1000;
}

/** Seconds per operation, one sample per round. */
export async function benchLifecycle(options: LifecycleBenchOptions): Promise<Record<LifecycleOperation, number[]>> {
  const { engine, cluster } = options;
  const samples = Object.fromEntries(LIFECYCLE_OPERATIONS.map((op) => [op, [] as number[]])) as Record<LifecycleOperation, number[]>;
  await deleteCluster({ engine, registries: engine, name: cluster, kubeconfigPath: options.kubeconfigPath });
  await createCluster({
    engine,
    registries: engine,
    progress: silentProgress,
    spec: defaultClusterSpec({ name: cluster, controlPlanes: 2, workers: 1, ...(options.nodeImage ? { nodeImage: options.nodeImage } : {}) }),
    kubeconfigPath: options.kubeconfigPath,
  });
  const common = { engine, registries: engine, progress: silentProgress, cluster, waitSeconds: 300 };
  const add = async (role: ChangeableRole) => (await addNodes({ ...common, role, count: 1 })).added[0] ?? '';
  const remove = (node: string) => removeNodes({ ...common, nodes: [node], force: false });
  const snapshots = await mkdtemp(join(tmpdir(), 'kc-bench-snapshots-'));
  try {
    for (let round = 0; round < options.rounds; round += 1) {
      let worker = '';
      let master = '';
      samples['add worker'].push(await timed(async () => (worker = await add('worker'))));
      samples['add master'].push(await timed(async () => (master = await add('master'))));
      samples['remove master'].push(await timed(() => remove(master)));
      samples['remove worker'].push(await timed(() => remove(worker)));
      samples.stop.push(await timed(() => stopCluster(common)));
      samples.start.push(await timed(() => startCluster(common)));
      const file = join(snapshots, `round-${round}.snap`);
      samples['snapshot save'].push(await timed(() => saveSnapshot({ ...common, file })));
      samples['snapshot restore'].push(await timed(() => restoreSnapshot({ ...common, file, fromOtherCluster: false })));
      samples['rotate certificates'].push(await timed(() => rotateCertificates({ ...common, ca: false })));
      samples['rotate CA'].push(await timed(() => rotateCertificates({ ...common, ca: true, waitSeconds: 900 })));
    }
  } finally {
    await rm(snapshots, { recursive: true, force: true });
    await deleteCluster({ engine, registries: engine, name: cluster, kubeconfigPath: options.kubeconfigPath });
  }
  return samples;
}
