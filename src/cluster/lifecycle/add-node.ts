import { LOCAL_ENGINE, type ClusterSpec } from '../../config/types.js';
import { remoteEnginesInUse } from '../../model/engines.js';
import { nextNode, withNode, type ChangeableRole, type ClusterPlan, type NodePlan } from '../../model/plan.js';
import type { Provider } from '../../provider/provider.js';
import { withClusterLock } from '../../state/lock.js';
import { Deadline } from '../../util/deadline.js';
import { UsageError } from '../../util/errors.js';
import type { Progress } from '../../util/progress.js';
import type { ApiProbe } from '../kube/api.js';
import { readCluster, requireNoUnfinishedChange, requireRunning } from '../ops/status.js';
import { joinNode, planned } from './moves/index.js';
import { runMoves, settleJournal, type ChangeWords } from './runner.js';

export interface AddNodesOptions {
  engine: Provider;
  progress: Progress;
  cluster: string;
  role: ChangeableRole;
  count: number;
  /** The engine the nodes go to (a name of the cluster's engines, or `local`); undefined: each slot's own. */
  onEngine?: string | undefined;
  waitSeconds: number;
  /** How the API server is asked from the host; the real HTTPS request unless a test says otherwise. */
  apiProbe?: ApiProbe;
  /** Ctrl-C: the command stops at its next safe point. */
  signal?: AbortSignal | undefined;
}

export interface AddNodesResult {
  added: string[];
  /** Seconds each node took to join, in order. */
  seconds: number[];
}

/** How many nodes one command may add (the layout's own limit is checked against the plan). */
export const MAX_NODES_PER_ADD = 20;

/** The command that adds `count` more nodes of `role`, as the user types it. */
export function addCommand(cluster: string, role: ChangeableRole, count: number, onEngine?: string): string {
  return `kc create node --role ${role}${count === 1 ? '' : ` --count ${count}`}${onEngine ? ` --engine ${onEngine}` : ''} --name ${cluster}`;
}

/**
 * `kc create node`: adds `count` masters or workers to a running cluster,
 * one join after the other (moves/join.ts), each a move of its own: one that
 * fails is taken back, the ones before it stay, and the message names both.
 * A change that stopped part-way before (the journal) is settled first.
 */
export async function addNodes(options: AddNodesOptions): Promise<AddNodesResult> {
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > MAX_NODES_PER_ADD) {
    throw new UsageError(`--count ${options.count} is not a number of nodes to add: give a whole number from 1 to ${MAX_NODES_PER_ADD}`);
  }
  return withClusterLock(options.cluster, async () => {
    const { engine, progress, role } = options;
    const cluster = await readCluster(engine, options.cluster);
    requireRunning(cluster, `add a ${role}`);
    requireNoUnfinishedChange(cluster, `add a ${role}`);
    checkEngine(cluster.plan.spec, options.onEngine);
    const deadline = new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'node change', options.signal);
    const ctx = { engine, progress, deadline, apiProbe: options.apiProbe };
    const { state } = await settleJournal(ctx, cluster.state);
    const nodes = slotsFor(state.plan, role, options.count, options.onEngine);
    const words: ChangeWords = { past: 'added', retry: (left) => addCommand(options.cluster, role, left.length, options.onEngine) };
    const startedAt: number[] = [];
    const moves = nodes.map((node) => ({
      subject: node.name,
      make: async () => {
        startedAt.push(Date.now());
        return planned(joinNode, { kind: 'join', node, step: 0, stepDone: false });
      },
    }));
    await runMoves({ ...ctx, command: addCommand(options.cluster, role, options.count, options.onEngine) }, state, moves, words);
    const endedAt = [...startedAt.slice(1), Date.now()];
    return { added: nodes.map((n) => n.name), seconds: startedAt.map((at, i) => ((endedAt[i] ?? at) - at) / 1000) };
  });
}

/** The next `count` free slots of `role`, one after the other; a usage error when the layout has fewer. */
function slotsFor(plan: ClusterPlan, role: ChangeableRole, count: number, onEngine: string | undefined): NodePlan[] {
  const nodes: NodePlan[] = [];
  let grown = plan;
  for (let i = 0; i < count; i += 1) {
    try {
      nodes.push(nextNode(grown, role, onEngine));
    } catch (error) {
      throw new UsageError(`cannot add ${count === 1 ? `a ${role}` : `${count} ${role}s`} to cluster "${plan.spec.name}": ${(error as Error).message}`);
    }
    grown = withNode(grown, nodes[i] as NodePlan);
  }
  return nodes;
}

/**
 * `--engine NAME` names an engine the cluster's network spans (a node on
 * another engine attaches to the cluster's swarm overlay; a cluster on one
 * engine has a bridge there).
 */
function checkEngine(spec: ClusterSpec, onEngine: string | undefined): void {
  if (onEngine === undefined || onEngine === LOCAL_ENGINE) return;
  const spanned = remoteEnginesInUse(spec).map((e) => e.name);
  if (spanned.includes(onEngine)) return;
  throw new UsageError(
    spanned.length === 0
      ? `--engine ${onEngine}: cluster "${spec.name}" runs on the local engine only (its network is a bridge there); a node on another engine needs a cluster created across engines (docs/multi-engine.md)`
      : `--engine ${onEngine} is not an engine cluster "${spec.name}" spans: use one of ${[LOCAL_ENGINE, ...spanned].join(', ')}`,
  );
}
