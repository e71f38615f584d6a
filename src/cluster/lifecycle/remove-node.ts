import { allNodes, findChangeableNode, withNodeRemoved, type NodePlan } from '../../model/plan.js';
import { LABEL_CLUSTER, type Nodes, type Provider } from '../../provider/provider.js';
import type { ClusterState } from '../../state/cluster-state.js';
import { withClusterLock } from '../../state/lock.js';
import { Deadline } from '../../util/deadline.js';
import { UsageError } from '../../util/errors.js';
import type { Progress } from '../../util/progress.js';
import { readCluster, requireNoUnfinishedChange, statusesNow, type ClusterNow } from '../ops/status.js';
import { listMembers, memberHealth, quorumAfterRemoval, unhealthyNamed } from './moves/etcd.js';
import { leaveNode, planned, type MoveContext } from './moves/index.js';
import { runMoves, settleJournal, type ChangeWords } from './runner.js';

export interface RemoveNodesOptions {
  engine: Provider;
  progress: Progress;
  cluster: string;
  nodes: string[];
  waitSeconds: number;
  /** Remove a master even when etcd would lose its quorum; drain a worker's pods that no controller would recreate. */
  force: boolean;
  /** Ctrl-C: the command stops at its next safe point. */
  signal?: AbortSignal | undefined;
}

/** The command that removes `nodes`, as the user types it. */
export function removeCommand(cluster: string, nodes: readonly string[], force: boolean): string {
  return `kc delete node ${nodes.join(' ')}${force ? ' --force' : ''} --name ${cluster}`;
}

/**
 * `kc delete node`: removes masters and workers from a running cluster, one
 * leave after the other (moves/leave.ts). Every name is checked before
 * anything changes; each master's quorum just before it leaves. A change
 * that stopped part-way before (the journal) is settled first: a node whose
 * removal that finishes counts as removed.
 */
export async function removeNodes(options: RemoveNodesOptions): Promise<string[]> {
  if (options.nodes.length === 0) throw new UsageError('say which nodes to remove: kc delete node NODE... (kc get nodes lists them)');
  return withClusterLock(options.cluster, async () => {
    const { engine, progress } = options;
    const before = await readCluster(engine, options.cluster);
    requireNoUnfinishedChange(before, 'remove nodes');
    const deadline = new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'node change', options.signal);
    const ctx: MoveContext = { engine, progress, deadline };
    const { state, settled } = await settleJournal(ctx, before.state);
    // A removal the journal just finished, or a join it just took back, of a node the user names: it is gone, as asked.
    const left = settled && ((settled.record.kind === 'leave' && settled.outcome === 'done') || (settled.record.kind === 'join' && settled.outcome === 'undone'));
    const gone = left && options.nodes.includes(settled.subject) ? settled.subject : undefined;
    const cluster = settled ? { ...before, state, plan: state.plan, statusOf: await statusesNow(engine, options.cluster) } : before;
    const targets = await checkTargets(options, cluster, gone);
    const words: ChangeWords = { past: 'removed', retry: (left) => removeCommand(options.cluster, left, options.force) };
    const moves = targets.map((target) => ({
      subject: target.name,
      make: async (now: ClusterState) => {
        if (target.role === 'master') await checkQuorum(ctx, now, target, options.force);
        return planned(leaveNode, { kind: 'leave', node: target, force: options.force, step: 0, stepDone: false });
      },
    }));
    await runMoves({ ...ctx, command: removeCommand(options.cluster, targets.map((t) => t.name), options.force) }, state, moves, words);
    return [...(gone ? [gone] : []), ...targets.map((t) => t.name)];
  });
}

/** Every name is a master or worker of this cluster, and what is left still has a master and a worker. */
async function checkTargets(options: RemoveNodesOptions, cluster: ClusterNow, gone: string | undefined): Promise<NodePlan[]> {
  const { plan } = cluster;
  const name = plan.spec.name;
  const targets: NodePlan[] = [];
  for (const nodeName of new Set(options.nodes)) {
    if (nodeName === gone) continue;
    const node = findChangeableNode(plan, nodeName);
    if (node) {
      targets.push(node);
      continue;
    }
    if (nodeName === plan.lb.name) throw new UsageError(`${nodeName} is cluster "${name}"'s load balancer: it lives as long as the cluster (kc delete cluster --name ${name})`);
    const owner = await ownerOf(options.engine, nodeName);
    const known = [...plan.masters, ...plan.workers].map((n) => n.name).join(', ');
    throw new UsageError(
      owner === name
        ? `${nodeName} is labelled as a node of cluster "${name}", but kc's state of the cluster does not list it (it was made outside kc): remove its container with \`docker rm -f ${nodeName}\``
        : owner
          ? `${nodeName} belongs to cluster "${owner}", not "${name}": kc delete node ${nodeName} --name ${owner}`
          : `cluster "${name}" has no node ${nodeName}; its masters and workers: ${known}`,
    );
  }
  const left = targets.reduce((p, t) => withNodeRemoved(p, t.name), plan);
  if (targets.length > 0 && left.masters.length === 0) throw new UsageError(`removing ${targets.map((t) => t.name).join(', ')} would leave cluster "${name}" without a master: a cluster needs at least one (add one first: kc create node --role master --name ${name})`);
  if (targets.length > 0 && left.workers.length === 0) throw new UsageError(`removing ${targets.map((t) => t.name).join(', ')} would leave cluster "${name}" without a worker: pods need one (add one first: kc create node --role worker --name ${name})`);
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

/**
 * Before a master leaves: etcd keeps its quorum without it (unless --force),
 * and the user hears when one more failure would break it.
 */
async function checkQuorum(ctx: MoveContext, state: ClusterState, master: NodePlan, force: boolean): Promise<void> {
  const { engine, progress } = ctx;
  const { plan } = state;
  const health = await memberHealth(engine, plan, plan.masters);
  const healthy = health.filter((h) => h.problem === undefined).map((h) => h.master);
  const silent = unhealthyNamed(health);
  const via = healthy.find((m) => m.name !== master.name);
  if (!via) throw new UsageError(`no other etcd member of cluster "${plan.spec.name}" answers (${silent}): removing ${master.name} now would lose the cluster's data`);
  const voters = (await listMembers(engine, plan, via, healthy)).filter((m) => !m.isLearner).length;
  const quorum = quorumAfterRemoval(voters, healthy.length, healthy.some((m) => m.name === master.name));
  if (quorum.breaksQuorum && !force) {
    throw new UsageError(
      `removing ${master.name} would break etcd's quorum: ${quorum.healthyAfter} of ${quorum.votersAfter} remaining members answer (${silent}), ${quorum.quorumAfter} are needed, ` +
        'and the cluster would stop accepting writes. Start the stopped masters first (kc start cluster), or pass --force to remove it anyway.',
    );
  }
  if (quorum.noFaultTolerance) {
    progress.info(`   note: etcd will have ${quorum.votersAfter} member${quorum.votersAfter === 1 ? '' : 's'}: it cannot survive the loss of another master (3 or more can).`);
  }
}
