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
 * Shapes (KC_BENCH_SHAPES, comma-separated, default `default,small,lifecycle`):
 * `default` (lb + 2 masters + 2 workers), `small` (lb + 1 master + 1 worker),
 * `nopolicy` (default without kube-router), `noingress` (default without the
 * ingress add-on: what it costs a create), `ha3` (3 masters + 2 workers),
 * `spanning` (the default with its second worker on a second Docker engine,
 * scripts/dev-engine.sh's one-machine simulation, the node image streamed
 * there first). Every shape with two workers also measures the pod network's
 * round trip between their pod bridges (VXLAN across engines, a bridge on one).
 * `upgrade`: KC_BENCH_RUNS times, the default shape made on the previous minor
 * and upgraded to the newest: total and per node (bench/upgrade.ts).
 * `stopstart`: the default cluster, KC_BENCH_RUNS rounds of kc stop and kc
 * start, and until a LoadBalancer Service answers again (bench/stopstart.ts).
 * `lifecycle`: on one cluster (2 masters, 1 worker), KC_BENCH_RUNS rounds of
 * add a worker, add a master, remove both, stop, start, snapshot save and
 * restore, rotate certificates (bench/lifecycle.ts).
 * KC_BENCH_NODE_IMAGE measures a node image of your own tag instead of kc's
 * default one; KC_BENCH_PREFIX (default `bench`) prefixes the cluster names, so
 * a benchmark never deletes someone else's clusters on a shared machine.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runsKubeRouter } from '../src/components/index.js';
import { KUBE_ROUTER_UNIT } from '../src/components/kube-router.js';
import { createCluster } from '../src/cluster/create/create.js';
import { deleteCluster } from '../src/cluster/ops/delete.js';
import { DEFAULT_ADDONS, defaultClusterSpec } from '../src/config/defaults.js';
import type { ClusterSpec } from '../src/config/types.js';
import { enginesForSpec } from '../src/cli/engines.js';
import { kubectl } from '../src/cluster/kube/kubectl.js';
import { DEFAULT_RELEASE, podImagesFor } from '../src/artifacts/manifest.js';
import type { ClusterPlan } from '../src/model/plan.js';
import { DockerEngine } from '../src/provider/docker/engine.js';
import { execOrThrow, LABEL_CLUSTER, type NodeRef, type Provider } from '../src/provider/provider.js';
import { nthAddress, parseCidr } from '../src/util/ipv4.js';
import { buildNodeImage } from '../src/image/node-image.js';
import { createProgress } from '../src/util/progress.js';
import { benchLifecycle } from './lifecycle.js';
import { benchStopStart } from './stopstart.js';
import { benchUpgrade } from './upgrade.js';
import { formatSpread, runCount, spreadByKey, type Spread } from './stats.js';
import { concurrently } from '../src/util/concurrent.js';

interface MemoryUse {
  node: string;
  mib: number;
}

const SHAPES: Record<string, Partial<ClusterSpec>> = {
  default: {},
  small: { controlPlanes: 1, workers: 1 },
  nopolicy: { networkPolicy: 'none' },
  noingress: { addons: { ...DEFAULT_ADDONS, ingress: false } },
  ha3: { controlPlanes: 3 },
  spanning: {},
};

/** Shapes measured by a code path of their own rather than benchCreate. */
const SPECIAL_SHAPES = ['lifecycle', 'upgrade', 'stopstart'];

const PREFIX = process.env.KC_BENCH_PREFIX || 'bench';
const NODE_IMAGE = process.env.KC_BENCH_NODE_IMAGE || undefined;
const RUNS = runCount(process.env.KC_BENCH_RUNS);

function shapesToRun(): string[] {
  const names = (process.env.KC_BENCH_SHAPES || 'default,small,lifecycle,upgrade').split(',').map((s) => s.trim()).filter(Boolean);
  const known = [...Object.keys(SHAPES), ...SPECIAL_SHAPES];
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) throw new Error(`KC_BENCH_SHAPES: unknown shape ${unknown.join(', ')}; known: ${known.join(', ')}`);
  return names;
}

async function nodeMemory(engine: Provider, cluster: string): Promise<MemoryUse[]> {
  const containers = await engine.listNodes({ [LABEL_CLUSTER]: cluster });
  const result = await concurrently(containers, async (c) => ({ node: c.name, mib: Math.round((await engine.memoryUsageBytes(c)) / 1024 ** 2) }));
  return result.sort((a, b) => a.node.localeCompare(b.node));
}

const total = (memory: MemoryUse[]): number => memory.reduce((sum, m) => sum + m.mib, 0);

/**
 * Memory once the cluster has settled: sampled every 5 s until the total moves
 * by less than 2% between samples (a minute at most), since start-up spikes
 * (caches, garbage not yet collected) are not what a cluster keeps using.
 */
async function settledMemory(engine: Provider, cluster: string): Promise<MemoryUse[]> {
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
async function unitMemoryMiB(engine: Provider, node: NodeRef, unit: string): Promise<number> {
  const pid = (await execOrThrow(engine, node, ['systemctl', 'show', '-p', 'MainPID', '--value', unit])).trim();
  const status = await execOrThrow(engine, node, ['cat', `/proc/${pid}/status`]);
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN);
  return Math.round(kib / 1024);
}

interface RunResult {
  seconds: Record<string, number>;
  memory?: MemoryUse[];
  kubeRouterMemory?: MemoryUse[];
}

/**
 * Round trip (ms, average of 20 pings) from the first worker's pod bridge to
 * the second's: the path pod-to-pod traffic between them takes. A bridge
 * exists once a pod runs on its worker, and both CoreDNS pods may be on one
 * (the scheduler places them as soon as the first worker is Ready): one
 * pause pod pinned to each worker makes sure of both bridges.
 */
async function podNetworkRttMs(engine: Provider, plan: ClusterPlan): Promise<number | undefined> {
  const [from, to] = plan.workers;
  if (!from?.podSubnet || !to?.podSubnet) return undefined;
  const pods = [from, to].map((worker) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `bench-bridge-${worker.name}`, namespace: 'default' },
    spec: { nodeName: worker.name, containers: [{ name: 'pause', image: podImagesFor(DEFAULT_RELEASE).pause, imagePullPolicy: 'Never' }] },
  }));
  await kubectl(engine, plan, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));
  await kubectl(engine, plan, ['wait', '--for=condition=Ready', '--timeout=60s', ...pods.map((pod) => `pod/${pod.metadata.name}`)]);
  const bridge = (subnet: string) => nthAddress(parseCidr(subnet), 1);
  const output = await execOrThrow(engine, from, ['ping', '-q', '-c', '20', '-i', '0.2', '-I', bridge(from.podSubnet), bridge(to.podSubnet)]);
  const avg = /= [\d.]+\/([\d.]+)\//.exec(output)?.[1];
  return avg === undefined ? undefined : Number(avg);
}

/** One create → (measure memory) → delete round of a cluster shaped by `shape`. */
async function benchCreate(name: string, shape: Partial<ClusterSpec>, kubeconfigPath: string, measureMemory: boolean): Promise<RunResult> {
  // A run that has not finished in 3 minutes has failed (a healthy one takes well under one): fail it, do not wait 10.
  const spec = defaultClusterSpec({ ...shape, name, waitSeconds: 180, ...(NODE_IMAGE ? { nodeImage: NODE_IMAGE } : {}) });
  const engines = enginesForSpec(spec);
  const { engine } = engines;
  await deleteCluster({ ...engines, name, kubeconfigPath });
  const created = await createCluster({ ...engines, progress: createProgress('normal'), spec, kubeconfigPath });
  const rtt = await podNetworkRttMs(engine, created.plan);
  let memory: MemoryUse[] | undefined;
  let kubeRouterMemory: MemoryUse[] | undefined;
  if (measureMemory) {
    memory = await settledMemory(engine, name);
    kubeRouterMemory = runsKubeRouter(created.plan)
      ? await concurrently(created.plan.workers, async (w) => ({ node: w.name, mib: await unitMemoryMiB(engine, w, KUBE_ROUTER_UNIT) }))
      : [];
  }
  const deleteStarted = Date.now();
  await deleteCluster({ ...engines, name, kubeconfigPath });
  const seconds = {
    ...created.stepSeconds,
    'create total': created.totalSeconds,
    'waiting for components': created.waitSeconds,
    "kc's own overhead": created.totalSeconds - created.waitSeconds,
    delete: (Date.now() - deleteStarted) / 1000,
    ...(rtt === undefined ? {} : { 'pod round trip worker-0 → worker-1 (ms)': rtt }),
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

const DEV_ENGINE = fileURLToPath(new URL('../../scripts/dev-engine.sh', import.meta.url));
const execFileAsync = promisify(execFile);

/** The spanning shape: the default with its second worker on a fresh simulated engine (removed afterwards). */
async function withSecondEngine<T>(work: (shape: Partial<ClusterSpec>) => Promise<T>): Promise<T> {
  const engineName = `${PREFIX}-e2`;
  await execFileAsync(DEV_ENGINE, ['stop', engineName]);
  const host = (await execFileAsync(DEV_ENGINE, ['start', engineName])).stdout.trim();
  try {
    const none = { extraPortMappings: [], extraMounts: [] };
    return await work({ engines: [{ name: 'e2', host }], nodeExtras: { masters: [], workers: [none, { ...none, engine: 'e2' }] } });
  } finally {
    await execFileAsync(DEV_ENGINE, ['stop', engineName]);
  }
}

async function benchShape(shape: string, kubeconfig: string): Promise<ShapeReport> {
  if (shape === 'spanning') return withSecondEngine((spec) => benchRuns(shape, spec, kubeconfig));
  return benchRuns(shape, SHAPES[shape] ?? {}, kubeconfig);
}

async function benchRuns(shape: string, spec: Partial<ClusterSpec>, kubeconfig: string): Promise<ShapeReport> {
  const results: RunResult[] = [];
  const failures: string[] = [];
  // Sequential on purpose: each cluster gets the whole machine. Each run its
  // own name: a name just deleted is not reused while the engine forgets it.
  for (let run = 1; run <= RUNS; run++) {
    try {
      results.push(await benchCreate(`${PREFIX}-${shape}-${run}`, spec, kubeconfig, results.length === 0));
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

/** Per round, seconds per lifecycle operation (the shape spreadByKey takes). */
function lifecycleRuns(samples: Record<string, number[]>): Array<Record<string, number>> {
  return Array.from({ length: RUNS }, (_, round) => Object.fromEntries(Object.entries(samples).map(([op, values]) => [op, values[round] ?? Number.NaN])));
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
    for (const shape of shapes.filter((s) => !SPECIAL_SHAPES.includes(s))) reports.push(await benchShape(shape, kubeconfig));
    const lifecycle = shapes.includes('lifecycle')
      ? await benchLifecycle({ engine, cluster: `${PREFIX}-lifecycle`, kubeconfigPath: kubeconfig, nodeImage: NODE_IMAGE, rounds: RUNS })
      : undefined;
    const upgrade = shapes.includes('upgrade') ? await benchUpgrade({ engine, progress, cluster: `${PREFIX}-upgrade`, kubeconfigPath: kubeconfig, runs: RUNS }) : undefined;
    const stopStart = shapes.includes('stopstart')
      ? await benchStopStart({ engine, cluster: `${PREFIX}-stopstart`, kubeconfigPath: kubeconfig, nodeImage: NODE_IMAGE, rounds: RUNS })
      : undefined;
    const nodeImage = { tag: image.tag, warmBuildSeconds: imageSeconds, sizeMB: Math.round(image.sizeBytes / 1e6) };
    process.stdout.write(`${JSON.stringify({ nodeImage, shapes: reports, lifecycle, upgrade, stopStart }, null, 2)}\n`);
    process.stdout.write(`\nnode image ${image.tag}: ${nodeImage.sizeMB} MB, warm build ${imageSeconds.toFixed(1)}s\n`);
    // Other work on the machine slows every step: say how busy it was.
    process.stdout.write(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores\n`);
    for (const report of reports) printShape(report);
    if (lifecycle) {
      process.stdout.write(`\nlifecycle (2 masters + 1 worker): ${RUNS} rounds${' '.repeat(8)}   min median    max (s)\n`);
      for (const [operation, s] of Object.entries(spreadByKey(lifecycleRuns(lifecycle)))) process.stdout.write(`  ${operation.padEnd(38)} ${formatSpread(s)}\n`);
    }
    if (stopStart) {
      process.stdout.write(`\nstopstart (the default cluster): ${stopStart.length} rounds${' '.repeat(10)}   min median    max (s)\n`);
      for (const [part, s] of Object.entries(spreadByKey(stopStart))) process.stdout.write(`  ${part.padEnd(38)} ${formatSpread(s)}\n`);
    }
    if (upgrade) {
      process.stdout.write(`\nupgrade ${upgrade.from} to ${upgrade.to} (2 masters + 2 workers): ${upgrade.runs.length} runs   min median    max (s)\n`);
      for (const [part, s] of Object.entries(spreadByKey(upgrade.runs))) process.stdout.write(`  ${part.padEnd(38)} ${formatSpread(s)}\n`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.message}\n`);
  process.exitCode = 1;
});
