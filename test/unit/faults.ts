import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addNodes } from '../../src/cluster/lifecycle/add-node.js';
import { removeNodes } from '../../src/cluster/lifecycle/remove-node.js';
import { rotateCertificates } from '../../src/cluster/lifecycle/rotate-certificates.js';
import { restoreSnapshot } from '../../src/cluster/lifecycle/snapshot.js';
import { startCluster, stopCluster } from '../../src/cluster/lifecycle/stop-start.js';
import { upgradeCluster } from '../../src/cluster/lifecycle/upgrade.js';
import { deleteCluster } from '../../src/cluster/ops/delete.js';
import { ETCD_SNAPSHOT_ON_NODE } from '../../src/components/etcd.js';
import type { ClusterSpec } from '../../src/config/types.js';
import { allNodes, nodeName, type ClusterPlan } from '../../src/model/plan.js';
import { generateClusterPki } from '../../src/pki/cluster-pki.js';
import type { ClusterPki } from '../../src/pki/types.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { LABEL_CLUSTER, type ExecResult } from '../../src/provider/provider.js';
import { loadState, type ClusterState } from '../../src/state/cluster-state.js';
import { messageOf } from '../../src/util/errors.js';
import { NEVER_INTERRUPTED } from '../../src/util/interrupt.js';
import { silentProgress, type Progress } from '../../src/util/progress.js';
import type { ApiProbe } from '../../src/cluster/kube/api.js';
import { createFakeCluster, FakeControlPlane, healthyApi, healthyCluster, ok, runningWorkers } from './fake-cluster.js';

/**
 * The fault-injection suite's harness (issue 31). A command runs on a fresh
 * fake cluster once per engine call of a clean run, that call failing once,
 * and once per progress step, Ctrl-C pressed as the step begins. After each
 * case four things must hold:
 *   1. state and engine agree: every container, network, volume and etcd
 *      member the state names exists (a node the journal says is moving may
 *      or may not), and nothing labelled for the cluster exists outside it;
 *   2. a failure's message names what failed, names every node the command
 *      was changing when the cluster changed, and says "as it was" only
 *      when it is;
 *   3. running the command the message names (or the command again) completes
 *      it, and leaves no journal;
 *   4. `kc delete cluster` afterwards leaves nothing: no container, network,
 *      volume, registry or kubeconfig context, no state.
 */

/** One case's cluster: a fresh fake engine, its etcd and HAProxy, its own state folder and kubeconfig. */
export interface World {
  name: string;
  spec: ClusterSpec;
  engine: FakeEngine;
  controlPlane: FakeControlPlane;
  kubeconfig: string;
  /** A snapshot file the case may use (kc snapshot save writes it, restore reads it). */
  snapshotFile: string;
  /** The API server as kc reads it from the host: healthy, its workers those running now. */
  apiProbe: ApiProbe;
  /** The state as the case began (after prepare). */
  before?: ClusterState | undefined;
}

export interface FaultCommand {
  /** As the user types it. */
  name: string;
  spec: ClusterSpec;
  /** Images the engine has (the node image of the spec by default). */
  images?: Record<string, Record<string, string>>;
  /** The case starts without a cluster: the command creates it. */
  fresh?: boolean;
  /** What the case starts from, beyond a running cluster (a stopped one, a snapshot file): never under injection. */
  prepare?(world: World): Promise<void>;
  run(world: World, signal: AbortSignal, progress: Progress): Promise<unknown>;
  /** Throws when the cluster is not as the command leaves it. */
  completed(world: World): Promise<void>;
  /** The nodes the command changes: a failure that changed the cluster names each of them. */
  subjects(world: World): string[];
}

/** What went wrong in one case: empty when every invariant held. */
export interface CaseResult {
  injected: string;
  problems: string[];
}

const SNAPSHOT_STATUS = '{"hash":1,"revision":4242,"totalKey":311,"totalSize":2048}';

/** A fresh fake cluster for `command` (none when it creates it), in a state folder of its own. PKI is generated once per shape. */
async function newWorld(command: FaultCommand, pki: PkiCache): Promise<World & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kc-faults-'));
  process.env.KC_STATE_DIR = join(dir, 'state');
  const { spec } = command;
  const engine = new FakeEngine();
  for (const [image, labels] of Object.entries(command.images ?? { [spec.nodeImage]: {} })) engine.images.set(image, labels);
  const controlPlane = new FakeControlPlane(Array.from({ length: spec.controlPlanes }, (_, i) => nodeName(spec.name, 'master', i)));
  const healthy = healthyCluster();
  engine.onExec = (node, command): ExecResult => {
    const line = command.join(' ');
    // etcdctl writes the snapshot in the node; etcdutl reports on it.
    if (line.includes(`snapshot save ${ETCD_SNAPSHOT_ON_NODE}`)) node.files.set(ETCD_SNAPSHOT_ON_NODE, { path: ETCD_SNAPSHOT_ON_NODE, content: Buffer.from('etcd db') });
    if (line.startsWith('etcdutl snapshot status')) return ok(SNAPSHOT_STATUS);
    return controlPlane.answer(node, command) ?? healthy(node, command);
  };
  const world = {
    dir,
    name: spec.name,
    spec,
    engine,
    controlPlane,
    kubeconfig: join(dir, 'kubeconfig'),
    snapshotFile: join(dir, 'cluster.snap'),
    apiProbe: healthyApi(spec, runningWorkers(spec.name, engine)),
  };
  if (!command.fresh) await createFakeCluster(engine, spec, world.kubeconfig, { generatePki: pki.generate, apiProbe: world.apiProbe });
  return world;
}

/** Key pairs take most of a fake create: one PKI per cluster shape, shared by its cases (each case has its own state). */
class PkiCache {
  private readonly cache = new Map<string, Promise<ClusterPki>>();

  readonly generate = (plan: ClusterPlan): Promise<ClusterPki> => {
    const key = JSON.stringify(allNodes(plan).map((n) => [n.name, n.ip]));
    let pki = this.cache.get(key);
    if (!pki) this.cache.set(key, (pki = generateClusterPki(plan)));
    return pki;
  };
}

/** A progress that records step titles, and raises `interrupt` as the `at`th step (from 1) begins. */
function steppingProgress(titles: string[], at?: number, interrupt?: AbortController): Progress {
  const progress: Progress = {
    step: (title, work) => {
      titles.push(title);
      if (titles.length === at) interrupt?.abort();
      return work(() => undefined);
    },
    info: () => undefined,
    detail: () => undefined,
    nested: () => progress,
  };
  return progress;
}

/** What of a cluster a failure could change, to tell whether a message's "as it was" holds. */
async function look(world: World): Promise<string> {
  const state = await loadState(world.name).catch(() => undefined);
  const containers = [...world.engine.nodes.values()].filter((n) => n.labels[LABEL_CLUSTER] === world.name).map((n) => `${n.spec.name}:${n.state}:${n.spec.image}`).sort();
  return JSON.stringify({
    plan: state ? allNodes(state.plan).map((n) => n.name) : null,
    journal: state?.journal?.move.kind ?? null,
    operation: state?.operation?.kind ?? null,
    admin: state?.pki.admin.certPem ?? null,
    containers,
    members: world.controlPlane.membership,
    networks: [...world.engine.networks.keys()].sort(),
  });
}

/** Invariant 1: the state and the engine agree (a node the journal says is moving may be either way). */
export async function disagreements(world: World): Promise<string[]> {
  const problems: string[] = [];
  const { engine, name } = world;
  let state: ClusterState | undefined;
  try {
    state = await loadState(name);
  } catch (error) {
    return [`the state cannot be read: ${messageOf(error)}`];
  }
  const labelled = (labels: Record<string, string>) => labels[LABEL_CLUSTER] === name;
  const containers = [...engine.nodes.values()].filter((n) => labelled(n.labels)).map((n) => n.spec.name);
  const networks = [...engine.networks.values()].filter((n) => labelled(n.labels)).map((n) => n.name);
  const volumes = [...engine.volumes].filter(([, l]) => labelled(l)).map(([v]) => v);
  if (!state) {
    if (containers.length + networks.length + volumes.length > 0) problems.push(`no state, but the engine has ${[...containers, ...networks, ...volumes].join(', ')}`);
    return problems;
  }
  const move = state.journal?.move;
  const moving = move && move.kind !== 'restore' ? move.node : undefined;
  const planned = allNodes(state.plan);
  const known = new Set([...planned.map((n) => n.name), ...(moving ? [moving.name] : [])]);
  for (const c of containers) if (!known.has(c)) problems.push(`container ${c} is not in the state`);
  // A delete that stopped part-way says so: what it did not remove yet is the state's, the rest may be gone.
  if (state.deleting) return problems;
  for (const n of planned) if (n.name !== moving?.name && !containers.includes(n.name)) problems.push(`${n.name} is in the state, but has no container`);
  if (!networks.includes(state.plan.network.name)) problems.push(`network ${state.plan.network.name} is gone`);
  const nodeVolumes = new Set([...known].flatMap((n) => [`${n}-containerd`, `${n}-local-path`]));
  for (const v of volumes) if (!nodeVolumes.has(v)) problems.push(`volume ${v} belongs to no node of the state`);
  const members = world.controlPlane.membership.map((m) => m.replace(/ \(learner\)$/, ''));
  const masters = new Set([...state.plan.masters.map((m) => m.name), ...(moving?.role === 'master' ? [moving.name] : [])]);
  for (const m of members) if (!masters.has(m)) problems.push(`etcd member ${m} is no master of the state`);
  for (const m of state.plan.masters) if (m.name !== moving?.name && !members.includes(m.name)) problems.push(`master ${m.name} is no etcd member`);
  if (state.plan.spec.addons.registry && ![...engine.registries.values()].some((r) => r.networks.has(state.plan.network.name))) {
    problems.push(`the registry is not on ${state.plan.network.name}`);
  }
  return problems;
}

/** Invariant 2: a failure's message says what failed, and what changed. */
function messageProblems(message: string, injected: string, changed: boolean, subjects: readonly string[]): string[] {
  const problems: string[] = [];
  if (!message.includes(injected) && !/interrupted/i.test(message)) problems.push(`the message does not say what failed: ${message}`);
  if (changed && /as it was|Nothing was created/.test(message)) problems.push(`the message says nothing changed, but the cluster did: ${message}`);
  if (changed) for (const subject of subjects) if (!message.includes(subject)) problems.push(`the cluster changed, but the message does not name ${subject}: ${message}`);
  return problems;
}

/** The first `kc ...` command a message names that changes the cluster: what the user would run next. */
export function suggestedCommand(message: string): string[] | undefined {
  for (const [, command = ''] of message.matchAll(/`(kc [^`]+)`/g)) {
    const words = command.split(/\s+/);
    if (/^kc (create node|delete node|start cluster|stop cluster|upgrade cluster|snapshot restore|rotate certificates|delete cluster)\b/.test(command)) return words;
  }
  return undefined;
}

function flag(words: readonly string[], name: string): string | undefined {
  const at = words.indexOf(name);
  return at < 0 ? undefined : words[at + 1];
}

/** Runs a command as the message names it, through the pipeline its CLI handler calls. */
async function runSuggested(words: readonly string[], world: World): Promise<void> {
  const cluster = flag(words, '--name') ?? world.name;
  const common = { engine: world.engine, progress: silentProgress, cluster, waitSeconds: 5, apiProbe: world.apiProbe };
  const verb = `${words[1] ?? ''} ${words[2] ?? ''}`;
  const positional = words.slice(3).filter((w, i, all) => !w.startsWith('--') && !all[i - 1]?.startsWith('--'));
  if (verb === 'create node') {
    await addNodes({ ...common, role: flag(words, '--role') === 'master' ? 'master' : 'worker', count: Number(flag(words, '--count') ?? 1), onEngine: flag(words, '--engine') });
  } else if (verb === 'delete node') {
    await removeNodes({ ...common, nodes: positional, force: words.includes('--force') });
  } else if (verb === 'start cluster') {
    await startCluster({ ...common, registries: world.engine });
  } else if (verb === 'stop cluster') {
    await stopCluster(common);
  } else if (verb === 'upgrade cluster') {
    await upgradeCluster({ ...common, kubernetesVersion: flag(words, '--kubernetes-version') ?? '' });
  } else if (verb === 'snapshot restore') {
    await restoreSnapshot({ ...common, file: positional[0] ?? '', fromOtherCluster: words.includes('--from-other-cluster') });
  } else if (verb === 'rotate certificates') {
    await rotateCertificates({ ...common, ca: words.includes('--ca') });
  } else if (verb === 'delete cluster') {
    await deleteCluster({ engine: world.engine, registries: world.engine, name: cluster, kubeconfigPath: world.kubeconfig });
  } else {
    throw new Error(`the suite cannot run \`${words.join(' ')}\``);
  }
}

/** Invariant 3: what the message names (or the command again) completes the command; no journal is left. */
async function completes(command: FaultCommand, world: World, message: string | undefined): Promise<string[]> {
  try {
    if (message !== undefined) {
      const suggested = suggestedCommand(message);
      if (suggested) await runSuggested(suggested, world);
      else await command.run(world, NEVER_INTERRUPTED, silentProgress);
      // A create that could not remove what it made says to delete it: then it is created again.
      if (suggested?.[1] === 'delete' && suggested[2] === 'cluster' && command.fresh) await command.run(world, NEVER_INTERRUPTED, silentProgress);
    }
    await command.completed(world);
    const state = await loadState(world.name);
    if (state?.journal) return [`a journal is left after completing: ${JSON.stringify(state.journal.move)}`];
    return (await disagreements(world)).map((p) => `once completed: ${p}`);
  } catch (error) {
    return [`did not complete: ${messageOf(error)}`];
  }
}

/** Invariant 4: kc delete cluster leaves nothing of the cluster. */
async function deletesCleanly(world: World): Promise<string[]> {
  try {
    await deleteCluster({ engine: world.engine, registries: world.engine, name: world.name, kubeconfigPath: world.kubeconfig });
  } catch (error) {
    return [`kc delete cluster failed: ${messageOf(error)}`];
  }
  const problems: string[] = [];
  if (!world.engine.isEmpty()) problems.push(`kc delete cluster left ${[...world.engine.nodes.keys(), ...world.engine.networks.keys(), ...world.engine.volumes.keys(), ...world.engine.registries.keys()].join(', ')}`);
  const kubeconfig = await readFile(world.kubeconfig, 'utf8').catch(() => '');
  if (kubeconfig.includes(`kc-${world.name}`)) problems.push('kc delete cluster left the kubeconfig context');
  if (await loadState(world.name).catch(() => 'unreadable')) problems.push('kc delete cluster left the state');
  return problems;
}

/** One case: the command with one failure or one interrupt injected, then every invariant. */
async function runCase(command: FaultCommand, pki: PkiCache, injection: FailurePoint | { step: number }): Promise<CaseResult> {
  const world = await newWorld(command, pki);
  const injected = 'call' in injection ? `injected failure of ${injection.call} (its call ${injection.occurrence})` : `interrupted at step ${injection.step}`;
  try {
    await command.prepare?.(world);
    world.before = await loadState(world.name);
    const before = await look(world);
    const interrupt = new AbortController();
    let fired = false;
    const seen = new Map<string, number>();
    world.engine.intercept = (call) => {
      const occurrence = (seen.get(call) ?? 0) + 1;
      seen.set(call, occurrence);
      if ('call' in injection && !fired && call === injection.call && occurrence === injection.occurrence) {
        fired = true;
        throw new Error(injected);
      }
    };
    let message: string | undefined;
    try {
      await command.run(world, interrupt.signal, steppingProgress([], 'step' in injection ? injection.step : undefined, interrupt));
    } catch (error) {
      message = messageOf(error);
    }
    world.engine.intercept = undefined;
    const problems = [...(await disagreements(world))];
    if (message !== undefined) problems.push(...messageProblems(message, injected, (await look(world)) !== before, command.subjects(world)));
    problems.push(...(await completes(command, world, message)));
    problems.push(...(await deletesCleanly(world)));
    return { injected, problems };
  } finally {
    await rm(world.dir, { recursive: true, force: true });
  }
}

/** The `occurrence`th time a command makes `call` (a poll makes the same call again; so does a step run on each node). */
interface FailurePoint {
  call: string;
  occurrence: number;
}

/** Every call and step of a clean run: the failure points and the interrupt points. */
async function cleanRun(command: FaultCommand, pki: PkiCache): Promise<{ calls: FailurePoint[]; steps: number }> {
  const world = await newWorld(command, pki);
  try {
    await command.prepare?.(world);
    world.before = await loadState(world.name);
    const calls: string[] = [];
    const titles: string[] = [];
    world.engine.intercept = (call) => calls.push(call);
    await command.run(world, NEVER_INTERRUPTED, steppingProgress(titles));
    world.engine.intercept = undefined;
    await command.completed(world);
    // Each call of the run is a failure point, the same call made again (a poll, a command run in two steps) too.
    const seen = new Map<string, number>();
    const points = calls.map((call) => {
      const occurrence = (seen.get(call) ?? 0) + 1;
      seen.set(call, occurrence);
      return { call, occurrence };
    });
    return { calls: points, steps: titles.length };
  } finally {
    await rm(world.dir, { recursive: true, force: true });
  }
}

export interface CommandReport {
  command: string;
  failingCalls: number;
  interrupts: number;
  passed: number;
  failures: CaseResult[];
}

/** Every case of one command. */
export async function injectFaults(command: FaultCommand): Promise<CommandReport> {
  const savedStateDir = process.env.KC_STATE_DIR;
  const pki = new PkiCache();
  try {
    const { calls, steps } = await cleanRun(command, pki);
    const results: CaseResult[] = [];
    for (const point of calls) results.push(await runCase(command, pki, point));
    for (let step = 1; step <= steps; step += 1) results.push(await runCase(command, pki, { step }));
    const failures = results.filter((r) => r.problems.length > 0);
    return { command: command.name, failingCalls: calls.length, interrupts: steps, passed: results.length - failures.length, failures };
  } finally {
    if (savedStateDir === undefined) delete process.env.KC_STATE_DIR;
    else process.env.KC_STATE_DIR = savedStateDir;
  }
}

/** One line per command and a total, for the suite's output and the docs. */
export function describeReports(reports: readonly CommandReport[]): string {
  const lines = reports.map((r) => `  ${r.command}: ${r.failingCalls + r.interrupts} cases (${r.failingCalls} engine calls failing, ${r.interrupts} steps interrupted), ${r.passed} passed`);
  const total = reports.reduce((sum, r) => sum + r.failingCalls + r.interrupts, 0);
  const passed = reports.reduce((sum, r) => sum + r.passed, 0);
  return `fault injection: ${total} cases (command × failure point), ${passed} passed\n${lines.join('\n')}`;
}

/**
 * A describe block of one test per command, each running every case of it;
 * the case counts are printed once the file is done (the suite's note).
 */
export function describeFaults(title: string, commands: readonly FaultCommand[], atLeast: number): void {
  const reports: CommandReport[] = [];
  afterAll(() => console.log(describeReports(reports)));
  describe(title, () => {
    for (const command of commands) {
      it(`${command.name}: every engine call failing, and Ctrl-C at every step, keep the invariants`, async () => {
        const report = await injectFaults(command);
        reports.push(report);
        expect(report.failures.map((f) => `${f.injected}: ${f.problems.join('; ')}`)).toEqual([]);
        expect(report.failingCalls + report.interrupts).toBeGreaterThan(atLeast);
      }, 900_000);
    }
  });
}
