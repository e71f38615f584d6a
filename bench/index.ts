/**
 * `npm run bench`: measures what the notes report, on this machine, for real.
 *  - node image: warm build time and size;
 *  - create: total and per-step time of a default cluster (cached image);
 *  - memory: each node container's memory use once the cluster is ready;
 *  - delete: time to remove everything.
 * Results go to stdout as JSON and a table.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCluster } from '../src/cluster/create.js';
import { deleteCluster } from '../src/cluster/delete.js';
import { defaultClusterSpec } from '../src/config/defaults.js';
import type { CniMode } from '../src/config/types.js';
import { DockerEngine, LABEL_CLUSTER } from '../src/docker/engine.js';
import { buildNodeImage } from '../src/image/node-image.js';
import { createProgress } from '../src/util/progress.js';

interface MemoryUse {
  node: string;
  mib: number;
}

async function nodeMemory(engine: DockerEngine, cluster: string): Promise<MemoryUse[]> {
  const containers = await engine.listContainers({ [LABEL_CLUSTER]: cluster });
  const result: MemoryUse[] = [];
  for (const c of containers) {
    const stats = (await engine.client.getContainer(c.id).stats({ stream: false })) as {
      memory_stats: { usage?: number; stats?: { cache?: number; inactive_file?: number; total_inactive_file?: number } };
    };
    const m = stats.memory_stats;
    const inactive = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? m.stats?.cache ?? 0;
    result.push({ node: c.name, mib: Math.round(((m.usage ?? 0) - inactive) / 1024 ** 2) });
  }
  return result.sort((a, b) => a.node.localeCompare(b.node));
}

async function benchCreate(engine: DockerEngine, cni: CniMode, kubeconfigPath: string) {
  const name = `bench-${cni}`;
  await deleteCluster({ engine, name, kubeconfigPath });
  const created = await createCluster({
    engine,
    progress: createProgress('normal'),
    spec: defaultClusterSpec({ name, cni }),
    kubeconfigPath,
  });
  const memory = await nodeMemory(engine, name);
  const deleteStarted = Date.now();
  await deleteCluster({ engine, name, kubeconfigPath });
  return {
    cni,
    createSeconds: created.totalSeconds,
    steps: created.stepSeconds,
    deleteSeconds: (Date.now() - deleteStarted) / 1000,
    memory,
  };
}

async function main(): Promise<void> {
  const engine = new DockerEngine();
  const progress = createProgress('normal');
  const imageStarted = Date.now();
  const image = await buildNodeImage({ engine, progress });
  const imageSeconds = (Date.now() - imageStarted) / 1000;
  const dir = await mkdtemp(join(tmpdir(), 'kc-bench-'));
  try {
    const runs = [await benchCreate(engine, 'bridge', join(dir, 'kubeconfig'))];
    const report = { nodeImage: { tag: image.tag, warmBuildSeconds: imageSeconds, sizeMiB: Math.round(image.sizeBytes / 1024 ** 2) }, runs };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    for (const run of runs) {
      process.stdout.write(`\ncni=${run.cni}: create ${run.createSeconds.toFixed(1)}s, delete ${run.deleteSeconds.toFixed(1)}s\n`);
      for (const [step, seconds] of Object.entries(run.steps)) process.stdout.write(`  ${step.padEnd(34)} ${seconds.toFixed(1)}s\n`);
      for (const m of run.memory) process.stdout.write(`  ${m.node.padEnd(34)} ${m.mib} MiB\n`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.message}\n`);
  process.exitCode = 1;
});
