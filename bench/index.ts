/**
 * `npm run bench`: measures what the notes report, on this machine, for real.
 *  - node image: warm build time and size;
 *  - create: total and per-step time of a default cluster (NetworkPolicy
 *    enforced by kube-router), of one without a policy controller
 *    (`networkPolicy: none`) and of one with 3 masters (cached image);
 *  - memory: each node container's memory use once the cluster is ready, and
 *    kube-router's own (resident set of its process) on each worker;
 *  - delete: time to remove everything;
 *  - across engines: the same for a cluster whose second worker runs on a
 *    second Docker engine (scripts/dev-engine.sh, the one-machine simulation),
 *    the node image streamed there first; and for it and the default cluster,
 *    the pod network's round trip between the two workers' pod bridges
 *    (over the overlay's VXLAN across engines, a plain bridge on one).
 * Results go to stdout as JSON and a table.
 *
 * KC_BENCH_RUNS (e.g. `default,spanning`) measures only the named runs.
 * KC_BENCH_NODE_IMAGE measures a node image of your own tag instead of kc's
 * default one; KC_BENCH_PREFIX (default `bench`) prefixes the cluster names, so
 * a benchmark never deletes someone else's clusters on a shared machine.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runsKubeRouter } from '../src/components/index.js';
import { KUBE_ROUTER_UNIT } from '../src/components/kube-router.js';
import { createCluster } from '../src/cluster/create.js';
import { deleteCluster } from '../src/cluster/delete.js';
import { defaultClusterSpec } from '../src/config/defaults.js';
import type { ClusterSpec } from '../src/config/types.js';
import { engineForSpec } from '../src/cli/engines.js';
import type { ClusterPlan } from '../src/model/plan.js';
import { DockerEngine } from '../src/provider/docker/engine.js';
import { LABEL_CLUSTER, type Provider } from '../src/provider/provider.js';
import { nthAddress, parseCidr } from '../src/util/ipv4.js';
import { buildNodeImage } from '../src/image/node-image.js';
import { createProgress } from '../src/util/progress.js';

interface MemoryUse {
  node: string;
  mib: number;
}

async function nodeMemory(engine: Provider, cluster: string): Promise<MemoryUse[]> {
  const containers = await engine.listContainers({ [LABEL_CLUSTER]: cluster });
  const result = await Promise.all(
    containers.map(async (c) => ({ node: c.name, mib: Math.round((await engine.memoryUsageBytes(c.id)) / 1024 ** 2) })),
  );
  return result.sort((a, b) => a.node.localeCompare(b.node));
}

/** Resident memory of a unit's main process on a node (the same measure on cgroup v1 and v2). */
async function unitMemoryMiB(engine: Provider, node: string, unit: string): Promise<number> {
  const pid = (await engine.execOrThrow(node, ['systemctl', 'show', '-p', 'MainPID', '--value', unit])).trim();
  const status = await engine.execOrThrow(node, ['cat', `/proc/${pid}/status`]);
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN);
  return Math.round(kib / 1024);
}

const PREFIX = process.env.KC_BENCH_PREFIX || 'bench';
const NODE_IMAGE = process.env.KC_BENCH_NODE_IMAGE || undefined;

/**
 * Round trip (ms, average of 20 pings) from the first worker's pod bridge to
 * the second's: the path pod-to-pod traffic between them takes.
 */
async function podNetworkRttMs(engine: Provider, plan: ClusterPlan): Promise<number | undefined> {
  const [from, to] = plan.workers;
  if (!from?.podSubnet || !to?.podSubnet) return undefined;
  const bridge = (subnet: string) => nthAddress(parseCidr(subnet), 1);
  const output = await engine.execOrThrow(from.name, ['ping', '-q', '-c', '20', '-i', '0.2', '-I', bridge(from.podSubnet), bridge(to.podSubnet)]);
  const avg = /= [\d.]+\/([\d.]+)\//.exec(output)?.[1];
  return avg === undefined ? undefined : Number(avg);
}

/** One create → measure → delete round of a cluster shaped by `shape`. */
async function benchCreate(label: string, shape: Partial<ClusterSpec>, kubeconfigPath: string) {
  const name = `${PREFIX}-${label}`;
  const spec = defaultClusterSpec({ ...shape, name, ...(NODE_IMAGE ? { nodeImage: NODE_IMAGE } : {}) });
  const engine = engineForSpec(spec);
  await deleteCluster({ engine, name, kubeconfigPath });
  const created = await createCluster({ engine, progress: createProgress('normal'), spec, kubeconfigPath });
  const memory = await nodeMemory(engine, name);
  const plan = created.plan;
  const podRttMs = await podNetworkRttMs(engine, plan);
  const kubeRouter = runsKubeRouter(plan)
    ? await Promise.all(plan.workers.map(async (w) => ({ node: w.name, mib: await unitMemoryMiB(engine, w.name, KUBE_ROUTER_UNIT) })))
    : [];
  const deleteStarted = Date.now();
  await deleteCluster({ engine, name, kubeconfigPath });
  return {
    label,
    createSeconds: created.totalSeconds,
    steps: created.stepSeconds,
    deleteSeconds: (Date.now() - deleteStarted) / 1000,
    podRttMs,
    memory,
    kubeRouterMemory: kubeRouter,
  };
}

const DEV_ENGINE = fileURLToPath(new URL('../../scripts/dev-engine.sh', import.meta.url));
const execFileAsync = promisify(execFile);

/** A fresh simulated second engine (scripts/dev-engine.sh), its address. */
async function freshDevEngine(name: string): Promise<string> {
  await execFileAsync(DEV_ENGINE, ['stop', name]);
  return (await execFileAsync(DEV_ENGINE, ['start', name])).stdout.trim();
}

/** The default cluster with its second worker on a second engine; the engine is removed afterwards. */
async function benchSpanning(kubeconfigPath: string) {
  const engineName = `${PREFIX}-e2`;
  const host = await freshDevEngine(engineName);
  try {
    const none = { extraPortMappings: [], extraMounts: [] };
    return await benchCreate('spanning', {
      engines: [{ name: 'e2', host }],
      nodeExtras: { masters: [], workers: [none, { ...none, engine: 'e2' }] },
    }, kubeconfigPath);
  } finally {
    await execFileAsync(DEV_ENGINE, ['stop', engineName]);
  }
}

const SELECTED = process.env.KC_BENCH_RUNS?.split(',').map((r) => r.trim()).filter(Boolean);
const selected = (label: string) => !SELECTED || SELECTED.includes(label);

async function main(): Promise<void> {
  const engine = new DockerEngine();
  const progress = createProgress('normal');
  const imageStarted = Date.now();
  const image = await buildNodeImage({ engine, progress, tag: NODE_IMAGE });
  const imageSeconds = (Date.now() - imageStarted) / 1000;
  const dir = await mkdtemp(join(tmpdir(), 'kc-bench-'));
  try {
    const kubeconfig = join(dir, 'kubeconfig');
    // Sequential on purpose: each cluster gets the whole machine.
    const runs = [];
    if (selected('default')) runs.push(await benchCreate('default', {}, kubeconfig));
    if (selected('nopolicy')) runs.push(await benchCreate('nopolicy', { networkPolicy: 'none' }, kubeconfig));
    if (selected('ha3')) runs.push(await benchCreate('ha3', { controlPlanes: 3 }, kubeconfig));
    if (selected('spanning')) runs.push(await benchSpanning(kubeconfig));
    const report = { nodeImage: { tag: image.tag, warmBuildSeconds: imageSeconds, sizeMiB: Math.round(image.sizeBytes / 1024 ** 2) }, runs };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    for (const run of runs) {
      const rtt = run.podRttMs === undefined ? '' : `, pod network round trip worker-0 → worker-1 ${run.podRttMs.toFixed(3)} ms`;
      process.stdout.write(`\n${run.label}: create ${run.createSeconds.toFixed(1)}s, delete ${run.deleteSeconds.toFixed(1)}s${rtt}\n`);
      for (const [step, seconds] of Object.entries(run.steps)) process.stdout.write(`  ${step.padEnd(34)} ${seconds.toFixed(1)}s\n`);
      for (const m of run.memory) process.stdout.write(`  ${m.node.padEnd(34)} ${m.mib} MiB\n`);
      for (const m of run.kubeRouterMemory) process.stdout.write(`  ${`kube-router on ${m.node}`.padEnd(34)} ${m.mib} MiB\n`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.message}\n`);
  process.exitCode = 1;
});
