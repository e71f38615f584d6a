/**
 * `npm run bench`: measures what the notes report, on this machine, for real.
 *  - node image: warm build time and size;
 *  - create, per shape, KC_BENCH_RUNS times (default 3): total and per-step
 *    time, as min/median/max; the time kc spent waiting for components and
 *    kc's own overhead (below); delete time;
 *  - memory: each node container's memory use once the cluster has settled
 *    (first run of each shape), and kube-router's own on each worker.
 * Results go to stdout as JSON and tables.
 *
 * kc's own overhead = create total − waiting, where waiting is the wall time
 * in which at least one readiness wait was polling (systemd boot, HAProxy,
 * etcd health, the API server's /readyz, registration, nodes Ready, CoreDNS,
 * kube-router's sync; overlapping waits count once). It is what kc itself
 * spends: planning, the PKI, container creation and file delivery through the
 * engine, kubectl applies, and polls that finish without waiting.
 *
 * Shapes (KC_BENCH_SHAPES, comma-separated, default `default,small`):
 * `default` (lb + 2 masters + 2 workers), `small` (lb + 1 master + 1 worker),
 * `nopolicy` (default without kube-router), `ha3` (3 masters + 2 workers).
 * KC_BENCH_NODE_IMAGE measures a node image of your own tag instead of kc's
 * default one; KC_BENCH_PREFIX (default `bench`) prefixes the cluster names, so
 * a benchmark never deletes someone else's clusters on a shared machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runsKubeRouter } from '../src/components/index.js';
import { KUBE_ROUTER_UNIT } from '../src/components/kube-router.js';
import { createCluster } from '../src/cluster/create.js';
import { deleteCluster } from '../src/cluster/delete.js';
import { defaultClusterSpec } from '../src/config/defaults.js';
import type { ClusterSpec } from '../src/config/types.js';
import { DockerEngine } from '../src/provider/docker/engine.js';
import { LABEL_CLUSTER } from '../src/provider/provider.js';
import { buildNodeImage } from '../src/image/node-image.js';
import { createProgress } from '../src/util/progress.js';
import { formatSpread, runCount, spreadByKey, type Spread } from './stats.js';

interface MemoryUse {
  node: string;
  mib: number;
}

const SHAPES: Record<string, Partial<ClusterSpec>> = {
  default: {},
  small: { controlPlanes: 1, workers: 1 },
  nopolicy: { networkPolicy: 'none' },
  ha3: { controlPlanes: 3 },
};

const PREFIX = process.env.KC_BENCH_PREFIX || 'bench';
const NODE_IMAGE = process.env.KC_BENCH_NODE_IMAGE || undefined;
const RUNS = runCount(process.env.KC_BENCH_RUNS);

function shapesToRun(): string[] {
  const names = (process.env.KC_BENCH_SHAPES || 'default,small').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(n in SHAPES));
  if (unknown.length > 0) throw new Error(`KC_BENCH_SHAPES: unknown shape ${unknown.join(', ')}; known: ${Object.keys(SHAPES).join(', ')}`);
  return names;
}

async function nodeMemory(engine: DockerEngine, cluster: string): Promise<MemoryUse[]> {
  const containers = await engine.listContainers({ [LABEL_CLUSTER]: cluster });
  const result = await Promise.all(
    containers.map(async (c) => ({ node: c.name, mib: Math.round((await engine.memoryUsageBytes(c.id)) / 1024 ** 2) })),
  );
  return result.sort((a, b) => a.node.localeCompare(b.node));
}

const total = (memory: MemoryUse[]): number => memory.reduce((sum, m) => sum + m.mib, 0);

/**
 * Memory once the cluster has settled: sampled every 5 s until the total moves
 * by less than 2% between samples (a minute at most), since start-up spikes
 * (caches, garbage not yet collected) are not what a cluster keeps using.
 */
async function settledMemory(engine: DockerEngine, cluster: string): Promise<MemoryUse[]> {
  let previous = await nodeMemory(engine, cluster);
  for (let i = 0; i < 12; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const current = await nodeMemory(engine, cluster);
    if (Math.abs(total(current) - total(previous)) < 0.02 * total(previous)) return current;
    previous = current;
  }
  return previous;
}

/** Resident memory of a unit's main process on a node (the same measure on cgroup v1 and v2). */
async function unitMemoryMiB(engine: DockerEngine, node: string, unit: string): Promise<number> {
  const pid = (await engine.execOrThrow(node, ['systemctl', 'show', '-p', 'MainPID', '--value', unit])).trim();
  const status = await engine.execOrThrow(node, ['cat', `/proc/${pid}/status`]);
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN);
  return Math.round(kib / 1024);
}

interface RunResult {
  seconds: Record<string, number>;
  memory?: MemoryUse[];
  kubeRouterMemory?: MemoryUse[];
}

/** One create → (measure memory) → delete round of a cluster shaped by `shape`. */
async function benchCreate(engine: DockerEngine, name: string, shape: Partial<ClusterSpec>, kubeconfigPath: string, measureMemory: boolean): Promise<RunResult> {
  await deleteCluster({ engine, name, kubeconfigPath });
  const created = await createCluster({
    engine,
    progress: createProgress('normal'),
    // A run that has not finished in 3 minutes has failed (a healthy one takes well under one): fail it, do not wait 10.
    spec: defaultClusterSpec({ ...shape, name, waitSeconds: 180, ...(NODE_IMAGE ? { nodeImage: NODE_IMAGE } : {}) }),
    kubeconfigPath,
  });
  let memory: MemoryUse[] | undefined;
  let kubeRouterMemory: MemoryUse[] | undefined;
  if (measureMemory) {
    memory = await settledMemory(engine, name);
    kubeRouterMemory = runsKubeRouter(created.plan)
      ? await Promise.all(created.plan.workers.map(async (w) => ({ node: w.name, mib: await unitMemoryMiB(engine, w.name, KUBE_ROUTER_UNIT) })))
      : [];
  }
  const deleteStarted = Date.now();
  await deleteCluster({ engine, name, kubeconfigPath });
  const seconds = {
    ...created.stepSeconds,
    'create total': created.totalSeconds,
    'waiting for components': created.waitSeconds,
    "kc's own overhead": created.totalSeconds - created.waitSeconds,
    delete: (Date.now() - deleteStarted) / 1000,
  };
  return { seconds, memory, kubeRouterMemory };
}

interface ShapeReport {
  shape: string;
  runs: number;
  /** Runs that failed, with why: reported, not averaged in. */
  failures: string[];
  seconds: Record<string, Spread>;
  raw: Array<Record<string, number>>;
  memory: MemoryUse[];
  memoryTotalMiB: number;
  kubeRouterMemory: MemoryUse[];
}

async function benchShape(engine: DockerEngine, shape: string, kubeconfig: string): Promise<ShapeReport> {
  const results: RunResult[] = [];
  const failures: string[] = [];
  // Sequential on purpose: each cluster gets the whole machine. Each run its
  // own name: a name just deleted is not reused while the engine forgets it.
  for (let run = 1; run <= RUNS; run++) {
    try {
      results.push(await benchCreate(engine, `${PREFIX}-${shape}-${run}`, SHAPES[shape] ?? {}, kubeconfig, results.length === 0));
    } catch (error) {
      failures.push(`run ${run}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  if (results.length === 0) throw new Error(`every ${shape} run failed: ${failures.join('; ')}`);
  const memory = results[0]?.memory ?? [];
  return {
    shape,
    runs: results.length,
    failures,
    seconds: spreadByKey(results.map((r) => r.seconds)),
    raw: results.map((r) => r.seconds),
    memory,
    memoryTotalMiB: total(memory),
    kubeRouterMemory: results[0]?.kubeRouterMemory ?? [],
  };
}

function printShape(report: ShapeReport): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`\n${report.shape}: ${report.runs} runs${' '.repeat(Math.max(1, 30 - report.shape.length))}   min median    max (s)`);
  for (const failure of report.failures) out(`  FAILED ${failure}`);
  for (const [step, s] of Object.entries(report.seconds)) out(`  ${step.padEnd(38)} ${formatSpread(s)}`);
  for (const m of report.memory) out(`  ${`memory ${m.node}`.padEnd(38)} ${String(m.mib).padStart(6)} MiB`);
  out(`  ${'memory, all nodes'.padEnd(38)} ${String(report.memoryTotalMiB).padStart(6)} MiB`);
  for (const m of report.kubeRouterMemory) out(`  ${`kube-router on ${m.node}`.padEnd(38)} ${String(m.mib).padStart(6)} MiB`);
}

async function main(): Promise<void> {
  const shapes = shapesToRun();
  const engine = new DockerEngine();
  const progress = createProgress('normal');
  const imageStarted = Date.now();
  const image = await buildNodeImage({ engine, progress, tag: NODE_IMAGE });
  const imageSeconds = (Date.now() - imageStarted) / 1000;
  const dir = await mkdtemp(join(tmpdir(), 'kc-bench-'));
  try {
    const kubeconfig = join(dir, 'kubeconfig');
    const reports: ShapeReport[] = [];
    for (const shape of shapes) reports.push(await benchShape(engine, shape, kubeconfig));
    const nodeImage = { tag: image.tag, warmBuildSeconds: imageSeconds, sizeMB: Math.round(image.sizeBytes / 1e6) };
    process.stdout.write(`${JSON.stringify({ nodeImage, shapes: reports }, null, 2)}\n`);
    process.stdout.write(`\nnode image ${image.tag}: ${nodeImage.sizeMB} MB, warm build ${imageSeconds.toFixed(1)}s\n`);
    // Other work on the machine slows every step: say how busy it was.
    process.stdout.write(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores\n`);
    for (const report of reports) printShape(report);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.message}\n`);
  process.exitCode = 1;
});
