import { UNIT } from '../../components/units.js';
import { localVolumesOn, type PersistentVolumeList } from '../../components/local-path-storage.js';
import { allNodes, findChangeableNode, withNodeRemoved, type NodePlan } from '../../model/plan.js';
import { withoutNodePki } from '../../pki/cluster-pki.js';
import { execOrThrow, LABEL_CLUSTER, type Nodes, type Provider } from '../../provider/provider.js';
import { saveState, type ClusterState } from '../../state/cluster-state.js';
import { withClusterLock } from '../../state/lock.js';
import { Deadline } from '../../util/deadline.js';
import { UsageError } from '../../util/errors.js';
import type { Progress } from '../../util/progress.js';
import { removeNodeContainer } from '../node/container.js';
import { waitUntil } from '../../util/poll.js';
import { readCluster, requireNoUnfinishedChange, type ClusterNow } from '../ops/status.js';
import { healthyMasters, listMembers, memberOf, moveLeaderAway, quorumAfterRemoval, tryEtcdctl } from './etcd-membership.js';
import { kubectlVia, refreshPodRoutes, reloadHaproxy, waitForHaproxyBackends, type ChangeContext } from './node-access.js';
import { changeStep, UndoLog } from './undo.js';
import { counted } from '../../util/words.js';

export interface RemoveNodesOptions {
  engine: Provider;
  progress: Progress;
  cluster: string;
  nodes: string[];
  waitSeconds: number;
  /** Remove a master even when etcd would lose its quorum; drain a worker's pods that no controller would recreate. */
  force: boolean;
}

/** What the removals of one command share: its options, one deadline for the whole command (as for kc create node), its targets. */
interface Removal extends RemoveNodesOptions {
  deadline: Deadline;
  targets: readonly NodePlan[];
}

/**
 * `kc delete node`: removes masters and workers from a running cluster, one
 * after the other. Every name is checked before anything changes.
 */
export async function removeNodes(options: RemoveNodesOptions): Promise<string[]> {
  if (options.nodes.length === 0) throw new UsageError('say which nodes to remove: kc delete node NODE... (kc get nodes lists them)');
  return withClusterLock(options.cluster, async () => {
    const cluster = await readCluster(options.engine, options.cluster);
    requireNoUnfinishedChange(cluster, 'remove nodes');
    const targets = await checkTargets(options, cluster);
    const removal: Removal = { ...options, targets, deadline: new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'node change') };
    let state = cluster.state;
    for (const target of targets) {
      const now = { ...cluster, state, plan: state.plan };
      state = target.role === 'worker' ? await removeWorker(removal, now, target) : await removeMaster(removal, now, target);
    }
    return targets.map((t) => t.name);
  });
}

/** Every name is a master or worker of this cluster, and what is left still has a master and a worker. */
async function checkTargets(options: RemoveNodesOptions, cluster: ClusterNow): Promise<NodePlan[]> {
  const { plan } = cluster;
  const name = plan.spec.name;
  const targets: NodePlan[] = [];
  for (const nodeName of new Set(options.nodes)) {
    const node = findChangeableNode(plan, nodeName);
    if (node) {
      targets.push(node);
      continue;
    }
    if (nodeName === plan.lb.name) throw new UsageError(`${nodeName} is cluster "${name}"'s load balancer: it lives as long as the cluster (kc delete cluster --name ${name})`);
    const owner = await ownerOf(options.engine, nodeName);
    const known = [...plan.masters, ...plan.workers].map((n) => n.name).join(', ');
    throw new UsageError(
      owner
        ? `${nodeName} belongs to cluster "${owner}", not "${name}": kc delete node ${nodeName} --name ${owner}`
        : `cluster "${name}" has no node ${nodeName}; its masters and workers: ${known}`,
    );
  }
  const left = targets.reduce((p, t) => withNodeRemoved(p, t.name), plan);
  if (left.masters.length === 0) throw new UsageError(`removing ${targets.map((t) => t.name).join(', ')} would leave cluster "${name}" without a master: a cluster needs at least one (add one first: kc create node --role master --name ${name})`);
  if (left.workers.length === 0) throw new UsageError(`removing ${targets.map((t) => t.name).join(', ')} would leave cluster "${name}" without a worker: pods need one (add one first: kc create node --role worker --name ${name})`);
  const down = allNodes(plan).filter((n) => cluster.statusOf(n) !== 'running' && !targets.some((t) => t.name === n.name));
  if (down.length > 0) {
    throw new UsageError(`cannot remove nodes while ${down.map((n) => n.name).join(', ')} ${down.length === 1 ? 'is' : 'are'} not running: they would miss the change. Start the cluster first: kc start cluster --name ${name}`);
  }
  return targets;
}

async function ownerOf(engine: Pick<Nodes, 'listNodes'>, container: string): Promise<string | undefined> {
  const all = await engine.listNodes({ [LABEL_CLUSTER]: '' });
  return all.find((c) => c.name === container)?.labels[LABEL_CLUSTER];
}

/** The state after a node left: the plan without it, and its certificates dropped. */
function stateWithout(state: ClusterState, node: NodePlan): ClusterState {
  return { ...state, plan: withNodeRemoved(state.plan, node.name), pki: withoutNodePki(state.pki, node.name) };
}

/**
 * A worker: cordoned and drained (evictions respect PodDisruptionBudgets),
 * its Node deleted, its container removed, the other nodes' routes to its
 * pods dropped. Up to the drain everything is taken back on failure.
 */
async function removeWorker(options: Removal, cluster: ClusterNow, worker: NodePlan): Promise<ClusterState> {
  const { engine, progress, deadline } = options;
  const next = stateWithout(cluster.state, worker);
  const ctx: ChangeContext = { engine, plan: cluster.plan, pki: cluster.state.pki, deadline };
  const via = stayingMaster(options, cluster);
  const undo = new UndoLog();
  const again = `Run \`kc delete node ${worker.name} --name ${cluster.plan.spec.name}\` again to finish.`;
  if (cluster.plan.spec.addons.storage) await warnOfLocalVolumes(ctx, progress, via, worker);
  // A stopped worker's kubelet cannot confirm its pods are gone, so a drain would wait for nothing: once its Node
  // object is deleted, Kubernetes' pod garbage collector removes them and their controllers recreate them elsewhere.
  if (cluster.statusOf(worker) === 'running') await drainWorker({ ...ctx, progress, force: options.force }, worker, via, undo, again);
  else progress.info(`   ${worker.name} is not running: no drain; its pods are rescheduled once its Node object is deleted`);
  await changeStep(progress, undo, `Removing ${worker.name}`, again, async (note) => {
    await kubectlVia(ctx, via, ['delete', 'node', worker.name, '--ignore-not-found']);
    await removeNodeContainer(engine, worker);
    await saveState(next);
    note('Node deleted, container removed');
  });
  await changeStep(progress, new UndoLog(), 'Updating pod routes', `Run \`kc stop cluster\` and \`kc start cluster\` (every node re-reads its routes at boot).`, async (note) => {
    // Nodes that run: a stopped one is also removed by this command (checkTargets refuses any other), and runs no command.
    const others = allNodes(next.plan).filter((n) => cluster.statusOf(n) === 'running');
    await refreshPodRoutes(engine, next.plan, others, worker.podSubnet);
    // The ingress's HAProxy backends are the workers (components/haproxy.ts).
    if (next.plan.spec.addons.ingress && others.includes(next.plan.lb)) await reloadHaproxy(engine, next.plan);
    note(`${counted(others.length, 'node')} no longer ${others.length === 1 ? 'routes' : 'route'} ${worker.podSubnet ?? ''}${next.plan.spec.addons.ingress ? ', nor sends it ingress traffic' : ''}`);
  });
  return next;
}

/**
 * Says what becomes of the worker's PersistentVolumes (the `standard` class
 * keeps their data on the worker's own volume): deleted with it. Their claims
 * stay, bound to a volume on no node, so a pod that uses one cannot start
 * again until the claim is deleted and made anew.
 */
async function warnOfLocalVolumes(ctx: ChangeContext, progress: Progress, via: NodePlan, worker: NodePlan): Promise<void> {
  const volumes = localVolumesOn(JSON.parse(await kubectlVia(ctx, via, ['get', 'pv', '-o', 'json'])) as PersistentVolumeList, worker.name);
  if (volumes.length === 0) return;
  progress.info(
    `   ${worker.name} holds the data of ${counted(volumes.length, 'PersistentVolume')} (${volumes.join(', ')}): it is deleted with the worker. ` +
      (volumes.length === 1
        ? 'Its claim stays, bound to a volume on no node: delete and recreate it for a pod that uses it to start elsewhere.'
        : 'Their claims stay, bound to volumes on no node: delete and recreate them for pods that use them to start elsewhere.'),
  );
}

/**
 * The master a worker's removal runs kubectl on: one that runs (the command
 * may remove a stopped master) and that the command does not remove.
 */
function stayingMaster(removal: Removal, cluster: ClusterNow): NodePlan {
  const removed = new Set(removal.targets.map((t) => t.name));
  const via = cluster.plan.masters.find((m) => cluster.statusOf(m) === 'running' && !removed.has(m.name));
  if (!via) {
    const name = cluster.plan.spec.name;
    throw new UsageError(`cluster "${name}" has no running master that this command keeps: kc removes a worker through one (kubectl). Start the cluster first: kc start cluster --name ${name}`);
  }
  return via;
}

/** Cordons and drains a worker through `via` (evictions respect PodDisruptionBudgets); taken back by an uncordon. */
export async function drainWorker(
  ctx: ChangeContext & { progress: Progress; force: boolean },
  worker: NodePlan,
  via: NodePlan,
  undo: UndoLog,
  again: string,
): Promise<void> {
  const { deadline } = ctx;
  await changeStep(ctx.progress, undo, `Draining ${worker.name}`, again, async (note) => {
    undo.push(`uncordoning ${worker.name}`, async () => {
      await kubectlVia(ctx, via, ['uncordon', worker.name]);
    });
    const seconds = Math.max(1, Math.floor(deadline.remainingMs() / 1000));
    const drain = ['drain', worker.name, '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${seconds}s`, ...(ctx.force ? ['--force'] : [])];
    try {
      await kubectlVia(ctx, via, drain);
    } catch (error) {
      const hint = /declare no controller|cannot delete Pods/.test((error as Error).message)
        ? '\nPods that no controller recreates would be lost: delete them yourself, or pass --force to delete them with the node.'
        : '\nA PodDisruptionBudget may allow no eviction now: raise the --wait, or scale the workload first.';
      throw new Error(`${(error as Error).message}${hint}`, { cause: error });
    }
    note('evictions respect PodDisruptionBudgets');
  });
}

/**
 * A master: out of HAProxy first (no new connections reach it), its API
 * server stopped gracefully (it takes its address out of the `kubernetes`
 * Service), then its etcd member removed, then its container. etcd's quorum
 * is checked before anything changes.
 */
async function removeMaster(options: Removal, cluster: ClusterNow, master: NodePlan): Promise<ClusterState> {
  const { engine, progress, deadline } = options;
  const { plan } = cluster;
  const next = stateWithout(cluster.state, master);
  const ctx: ChangeContext = { engine, plan: next.plan, pki: next.pki, deadline };
  const remaining = next.plan.masters;
  const healthy = await healthyMasters(engine, plan, plan.masters);
  const via = healthy.find((m) => m.name !== master.name);
  if (!via) throw new UsageError(`no other etcd member of cluster "${plan.spec.name}" answers: removing ${master.name} now would lose the cluster's data`);
  const voters = (await listMembers(engine, plan, via, healthy)).filter((m) => !m.isLearner).length;
  const quorum = quorumAfterRemoval(voters, healthy.length, healthy.some((m) => m.name === master.name));
  if (quorum.breaksQuorum && !options.force) {
    throw new UsageError(
      `removing ${master.name} would break etcd's quorum: ${quorum.healthyAfter} of ${quorum.votersAfter} remaining members answer, ${quorum.quorumAfter} are needed, ` +
        'and the cluster would stop accepting writes. Start the stopped masters first (kc start cluster), or pass --force to remove it anyway.',
    );
  }
  if (quorum.noFaultTolerance) {
    progress.info(`   note: etcd will have ${quorum.votersAfter} member${quorum.votersAfter === 1 ? '' : 's'}: it cannot survive the loss of another master (3 or more can).`);
  }
  const undo = new UndoLog();
  const again = `Check the masters with \`kc get nodes --name ${plan.spec.name}\` and run \`kc delete node ${master.name} --name ${plan.spec.name}\` again.`;
  await changeStep(progress, undo, `Taking ${master.name} out of HAProxy`, again, async (note) => {
    undo.push("restoring HAProxy's backend list", () => reloadHaproxy(engine, plan));
    await reloadHaproxy(engine, next.plan);
    await waitForHaproxyBackends(ctx);
    note(`${remaining.length} backends`);
  });
  await changeStep(progress, undo, `Removing ${master.name} from etcd`, again, async (note) => {
    if (cluster.statusOf(master) === 'running') await stopControlPlane(ctx, master, via, undo);
    const others = healthy.filter((m) => m.name !== master.name);
    const id = memberOf(await listMembers(engine, plan, via, others), master)?.id;
    if (id) await removeMember(ctx, via, others, id, cluster.statusOf(master) === 'running' ? master : undefined);
    note(id ? `member ${id} removed, ${remaining.length} left` : 'was not a member');
  });
  await changeStep(progress, new UndoLog(), `Removing ${master.name}`, again, async (note) => {
    await removeNodeContainer(engine, master);
    await saveState(next);
    note('container removed');
  });
  return next;
}

/**
 * Stops a master's API server and controllers, and waits until its address
 * has left the `kubernetes` Service (a stopping API server takes it out
 * first); taken back by starting them again. Not waiting for the stop
 * itself: after that, the API server waits for open watches, which no longer
 * matters for a master that goes.
 */
export async function stopControlPlane(ctx: ChangeContext, master: NodePlan, via: NodePlan, undo: UndoLog): Promise<void> {
  const units = [UNIT.apiServer, UNIT.controllerManager, UNIT.scheduler];
  undo.push(`restarting the control plane on ${master.name}`, async () => {
    await execOrThrow(ctx.engine, master.name, ['systemctl', 'start', ...units]);
  });
  await execOrThrow(ctx.engine, master.name, ['systemctl', 'stop', '--no-block', ...units]);
  await waitUntil(
    `${master.name} to leave the kubernetes Service's endpoints`,
    async () => {
      const addresses = await kubectlVia(ctx, via, [
        'get', 'endpointslices', '-n', 'default', '-l', 'kubernetes.io/service-name=kubernetes', '-o', 'jsonpath={.items[*].endpoints[*].addresses[*]}',
      ]);
      return !addresses.split(/\s+/).includes(master.ip) || `still listed: ${addresses.trim()}`;
    },
    { deadline: ctx.deadline, intervalMs: 250 },
  );
}

/**
 * `etcdctl member remove`, once etcd agrees. etcd refuses with "unhealthy
 * cluster" while any member that would remain has been connected to the
 * leader for less than 5 s (a master just restarted, say): that refusal is
 * waited out; any other is an error at once. A `leaving` member that leads
 * hands its leadership to `via` first (see moveLeaderAway).
 */
export async function removeMember(ctx: ChangeContext, via: NodePlan, members: readonly NodePlan[], id: string, leaving?: NodePlan): Promise<void> {
  const viaId = leaving ? memberOf(await listMembers(ctx.engine, ctx.plan, via, members), via)?.id : undefined;
  if (leaving && viaId) await moveLeaderAway(ctx.engine, ctx.plan, leaving, via, viaId);
  let refusal: string | undefined;
  await waitUntil(
    `etcd to accept removing member ${id}`,
    async () => {
      const result = await tryEtcdctl(ctx.engine, ctx.plan, via, ['member', 'remove', id], members);
      if (result.exitCode === 0) return true;
      const reason = `${result.stdout}${result.stderr}`.trim().split('\n').pop() ?? `exit ${result.exitCode}`;
      if (reason.includes('unhealthy cluster')) return `${reason} (a remaining member connected less than 5 s ago)`;
      refusal = reason;
      return true;
    },
    { deadline: ctx.deadline, timeoutMs: 30_000, intervalMs: 500 },
  );
  if (refusal !== undefined) throw new Error(`etcd refused to remove member ${id} (asked on ${via.name}): ${refusal}`);
}
