import { allNodes, withNode, type ClusterPlan, type NodePlan } from '../../model/plan.js';
import type { NodeExec, Provider, Registries } from '../../provider/provider.js';
import type { ClusterState } from '../../state/cluster-state.js';
import { attachClusterRegistry } from '../registry/registry.js';
import { withClusterLock } from '../../state/lock.js';
import { awaitAll, concurrently } from '../../util/concurrent.js';
import { Deadline } from '../../util/deadline.js';
import { messageOf } from '../../util/errors.js';
import { isInterruption, stopIfInterrupted } from '../../util/interrupt.js';
import type { Progress } from '../../util/progress.js';
import { waitForApiServer, waitForCoreDns, waitForEtcd, waitForKubeRouter, waitForNodesReady } from '../kube/waits.js';
import { runsKubeRouter } from '../../components/index.js';
import { hostApiOf, type ApiProbe } from '../kube/api.js';
import { addonStatuses, type AddonStatus } from '../kube/addons.js';
import { kubectl } from '../kube/kubectl.js';
import { releaseStaleLeases } from '../kube/leases.js';
import { waitForBoot } from '../node/units.js';
import { UNIT } from '../../components/units.js';
import { readCluster, statusesNow, unfinishedChange, type ClusterNow } from '../ops/status.js';
import { counted } from '../../util/words.js';
import type { MoveContext } from './moves/index.js';
import { settleJournal, type Settled } from './runner.js';

export interface StopStartOptions {
  engine: Provider;
  /** Where the shared registry runs: the engine kc runs on. */
  registries: Registries;
  progress: Progress;
  cluster: string;
  waitSeconds: number;
  apiProbe?: ApiProbe;
  /** Ctrl-C: the command stops at its next safe point. */
  signal?: AbortSignal | undefined;
}

/** How long systemd in a node gets to stop its units before the engine kills it. */
const STOP_TIMEOUT_SECONDS = 30;

/**
 * Every node stops at once: the stop takes as long as the slowest node, not
 * the sum of role groups (each hurried, see HURRY: about 2 s). A node
 * does not need another to stop first: etcd's members all stop together
 * anyway, every write it acknowledged is on a majority's disk already, and
 * kubelets report nothing on their way down.
 */
export function stopOrder(plan: ClusterPlan): NodePlan[] {
  return allNodes(plan);
}

export interface StopStartResult {
  nodes: number;
  seconds: number;
  /** Nodes that were already in the wanted state. */
  unchanged: number;
  /** A start: the change a stopped command left, which it settled. */
  settled?: Settled;
  /** A start: a rollout (an upgrade, a rotation) that stopped part-way, and the command that finishes it. */
  unfinished?: string;
  /** A start: whether each add-on serves yet, read live as create reads it. */
  addons?: AddonStatus[];
}

/** The node a stopped command was moving (joining, leaving, being replaced), if any: it may have a container, or none. */
function movingNode(state: ClusterState): NodePlan | undefined {
  const move = state.journal?.move;
  return move && move.kind !== 'restore' ? move.node : undefined;
}

/** The plan, with a node a stopped command was adding: it has a container to stop and start too. */
function planWithMoving(cluster: ClusterNow): ClusterPlan {
  const moving = movingNode(cluster.state);
  return moving && !allNodes(cluster.plan).some((n) => n.name === moving.name) ? withNode(cluster.plan, moving) : cluster.plan;
}

/** The plan's nodes and a moving node, each as far as it has a container now. */
function nodesWithContainers(cluster: ClusterNow): NodePlan[] {
  return allNodes(planWithMoving(cluster)).filter((n) => cluster.containers.has(n.name));
}

/**
 * `kc stop cluster`: stops every node container at once (stopOrder; a node
 * a stopped command was adding too); a stopped cluster keeps its data,
 * addresses and host port. Ctrl-C before it begins stops it there.
 */
export async function stopCluster(options: Omit<StopStartOptions, 'registries'>): Promise<StopStartResult> {
  return withClusterLock(options.cluster, async () => {
    const started = Date.now();
    const cluster = await readCluster(options.engine, options.cluster);
    let unchanged = 0;
    try {
      stopIfInterrupted(options.signal);
      const nodes = stopOrder(planWithMoving(cluster));
      const running = nodes.filter((n) => cluster.containers.get(n.name)?.state === 'running');
      unchanged = nodes.length - running.length;
      await options.progress.step(`Stopping ${counted(running.length, 'node')}`, async (note) => {
        await concurrently(running, async (n) => {
          await hurryStop(options.engine, n);
          await options.engine.stopNode(n, STOP_TIMEOUT_SECONDS);
        });
        note(unchanged === 0 ? running.map((n) => n.name).join(', ') : `${counted(unchanged, 'node')} stopped already`);
      });
    } catch (error) {
      throw await stoppedPartWay('stop', error, options.engine, cluster);
    }
    return { nodes: allNodes(cluster.plan).length, seconds: (Date.now() - started) / 1000, unchanged };
  });
}

/**
 * What a node stops at once when the whole cluster stops, rather than by
 * its graceful shutdown, which serves only clients that are stopping too:
 * - a worker's CoreDNS answers 5 s more after SIGTERM (its lameduck, so a
 *   rollout's clients move to another replica first): that was the whole
 *   of a worker's stop (5.5 s; every other process was gone in 0.4 s), so
 *   it quits at once (SIGQUIT: CoreDNS's own "exit now");
 * - a master's API server waits for its watches to drain, up to its
 *   TimeoutStopSec of 5 s, and its requests hang once the other master's
 *   etcd has stopped (a master took 9 s). It keeps nothing of its own
 *   (etcd has every object, and stops gracefully after it), so it is killed.
 * Every other pod keeps its grace: a database still gets SIGTERM and time.
 */
const HURRY: Partial<Record<NodePlan['role'], string[]>> = {
  worker: ['pkill', '--signal', 'QUIT', '--exact', 'coredns'],
  master: ['systemctl', 'kill', '--signal=SIGKILL', UNIT.apiServer],
};

async function hurryStop(engine: NodeExec, node: NodePlan): Promise<void> {
  const command = HURRY[node.role];
  // Nothing to hurry (no CoreDNS there, the API server down already) is fine: the stop itself is what matters.
  if (command) await engine.exec(node, command).catch(() => undefined);
}

/**
 * A stop or start that did not get to its end: its cause, which nodes run
 * and which do not now (as the engine says), and the command that finishes
 * it. Running it again is always right: each only acts on the nodes not yet
 * as it wants them.
 */
async function stoppedPartWay(verb: 'stop' | 'start', cause: unknown, engine: Provider, cluster: ClusterNow): Promise<Error> {
  const name = cluster.plan.spec.name;
  const first = isInterruption(cause) ? `${messageOf(cause).replace(/^./, (c) => c.toUpperCase())}: kc stopped at a safe point.` : messageOf(cause);
  const isRunning = await statusesNow(engine, name).then(
    (statusOf) => (node: NodePlan) => statusOf(node) === 'running',
    () => undefined,
  );
  if (!isRunning) return new Error(`${first}\nRun \`kc ${verb} cluster --name ${name}\` again.`, { cause });
  const nodes = allNodes(planWithMoving(cluster));
  const [running, down] = [nodes.filter(isRunning).map((n) => n.name), nodes.filter((n) => !isRunning(n)).map((n) => n.name)];
  const now = [running.length > 0 ? `${running.join(', ')} ${running.length === 1 ? 'runs' : 'run'}` : '', down.length > 0 ? `${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} stopped` : ''];
  const next = verb === 'stop' ? 'stops the rest' : 'starts the rest and waits until the cluster is usable';
  return new Error(`${first}\n${now.filter(Boolean).join('; ')}.\n\`kc ${verb} cluster --name ${name}\` ${next}.`, { cause });
}

/**
 * `kc start cluster`: starts every node at once (etcd members wait for each
 * other; kubelets retry until the API answers), then waits until the cluster
 * is usable: etcd healthy, the API server ready on the same host port, every
 * node Ready and CoreDNS available. The registry runs again if it was
 * stopped. A change a stopped command left in the journal is settled on the
 * way (a restore before etcd is waited for, any other once the API answers):
 * a node being replaced by an upgrade is no lost node, and is finished.
 */
export async function startCluster(options: StopStartOptions): Promise<StopStartResult> {
  return withClusterLock(options.cluster, async () => {
    const cluster = await readCluster(options.engine, options.cluster);
    const { plan } = cluster;
    const moving = movingNode(cluster.state);
    const missing = allNodes(plan).filter((n) => cluster.statusOf(n) === 'missing' && n.name !== moving?.name);
    if (missing.length > 0) {
      throw new Error(
        `cluster "${plan.spec.name}" lost node containers ${missing.map((n) => n.name).join(', ')} (removed outside kc): ` +
          `it cannot be started as it was. Remove what is left with \`kc delete cluster --name ${plan.spec.name}\` and create it again.`,
      );
    }
    try {
      return await startNodes(options, cluster);
    } catch (error) {
      throw await stoppedPartWay('start', error, options.engine, cluster);
    }
  });
}

/** The start itself, once kc knows it can: nodes started, the journal settled, the cluster waited for. */
async function startNodes(options: StopStartOptions, cluster: ClusterNow): Promise<StopStartResult> {
  const started = Date.now();
  const { engine, progress } = options;
  const { plan } = cluster;
  const deadline = new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'start', options.signal);
  const moving = movingNode(cluster.state);
  const nodes = nodesWithContainers(cluster);
  const stopped = nodes.filter((n) => cluster.containers.get(n.name)?.state !== 'running');
  // What the nodes report from here on is from this start: a kubelet posts its first status as soon as the API server answers.
  const startedAt = Date.now();
  await progress.step('Starting nodes', async (note) => {
    await concurrently(stopped, (n) => engine.startNode(n));
    await concurrently(nodes, (n) => waitForBoot(engine, n, deadline));
    note(`${stopped.length} started, ${nodes.length - stopped.length} were running`);
  });
  // The shared registry restarts with the engine; one stopped by hand (or removed) is brought back for this cluster.
  if (plan.spec.addons.registry) await progress.step('Starting registry', async (note) => note(await attachClusterRegistry(options.registries, plan)));
  const ctx: MoveContext = { engine, progress, deadline, apiProbe: options.apiProbe };
  let state = cluster.state;
  let settled: Settled | undefined;
  // A restore stopped part-way leaves etcd stopped or half restored: it is taken back before etcd can answer.
  if (state.journal?.move.kind === 'restore') ({ state, settled } = await settleJournal(ctx, state));
  const api = hostApiOf(state, options.apiProbe);
  await progress.step('Waiting for etcd and the API server', async (note) => {
    // A master a stopped command was moving may have no member to answer yet: the others must.
    await waitForEtcd({ engine, plan: { ...plan, masters: plan.masters.filter((m) => m.name !== moving?.name) }, deadline });
    await waitForApiServer(api, deadline);
    note(api.server);
  });
  if (state.journal) ({ state, settled } = await settleJournal(ctx, state));
  await progress.step('Waiting for nodes and CoreDNS', async (note) => {
    const workers = state.plan.workers;
    // A Ready from before the stop is stale: only a heartbeat (or a CoreDNS pod Ready) since the containers started counts.
    const fresh = { started: new Set(stopped.map((n) => n.name)), since: startedAt };
    const everyWorkerStarted = workers.every((w) => fresh.started.has(w.name));
    // Each wait is for something else (kubelets, CoreDNS, kube-router's rules): all at once, the step takes the longest.
    const [, , , released] = await awaitAll([
      waitForNodesReady(api, workers.map((w) => w.name), deadline, { fresh }),
      waitForCoreDns(api, deadline, everyWorkerStarted ? startedAt : undefined),
      runsKubeRouter(state.plan) ? waitForKubeRouter({ engine, plan: state.plan, deadline }) : Promise.resolve(),
      // Best effort: a lease not given back only costs its 15 s.
      releaseStaleLeases((args) => kubectl(engine, state.plan, args), startedAt).catch((): string[] => []),
    ]);
    note(`${counted(workers.length, 'worker')} Ready${released.length > 0 ? `; the leases held before the stop given back: ${released.join(', ')}` : ''}`);
  });
  const unfinished = unfinishedChange({ ...cluster, state, plan: state.plan });
  // Read live, as create reads them: right after a start the Pod objects still say what they said before the stop.
  const addons = await addonStatuses(api, state.plan);
  return {
    nodes: allNodes(state.plan).length,
    seconds: (Date.now() - started) / 1000,
    unchanged: nodes.length - stopped.length,
    addons,
    ...(settled ? { settled } : {}),
    ...(unfinished ? { unfinished } : {}),
  };
}
