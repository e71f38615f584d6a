import type { ClusterPlan, NodePlan } from '../../../model/plan.js';
import { LABEL_CLUSTER, type Provider } from '../../../provider/provider.js';
import type { ClusterState, MoveRecord } from '../../../state/cluster-state.js';
import type { Deadline } from '../../../util/deadline.js';
import type { Progress, StepNote } from '../../../util/progress.js';
import { hostApiOf, type ApiProbe } from '../../kube/api.js';
import type { JoinContext } from './access.js';

/**
 * A membership move: one change of who the cluster is (a node joining,
 * leaving, being replaced; every master's etcd data restored), as a list of
 * steps and a way to take it back. The runner (../runner.ts) journals each
 * step in the cluster's state before and after it runs; a move that stopped
 * is settled from that record by the next command, in another process, so
 * nothing a move needs may live only in memory: each step looks at the
 * engine and etcd before it acts, and so does the undo.
 */

/** What every move works with: the engines, the command's one deadline (which Ctrl-C ends), progress lines, and how the API is asked. */
export interface MoveContext {
  engine: Provider;
  progress: Progress;
  deadline: Deadline;
  /** How the API server is asked from the host; the real HTTPS request unless a test says otherwise. */
  apiProbe?: ApiProbe | undefined;
}

/** One step: one progress line. It may run again when a stopped move is finished, so it looks before it acts. */
export interface MoveStep {
  title: string;
  run(note: StepNote): Promise<void>;
}

/** What taking a move back came to: undone, or found too late for (only finishing it is left). */
export type UndoOutcome = 'undone' | 'too-late';

export interface Move {
  record: MoveRecord;
  /** What moves, for messages: a node's name, or the masters of a restore. */
  subject: string;
  steps: readonly MoveStep[];
  /** From this step on a stopped move is finished, never taken back (steps.length: always taken back; 0: always finished). */
  finishFrom: number;
  /** Takes back what the move did, judged by what the nodes and etcd say now. */
  undo(): Promise<UndoOutcome>;
  /** The cluster's state once the move is done, and once it is taken back (from the state while it was under way). */
  done(state: ClusterState): ClusterState;
  undone(state: ClusterState): ClusterState;
}

/**
 * One kind of move: how the state changes as it begins (a joining node's
 * certificates), and the move itself, made from the state while it is under
 * way and its record (fresh, or read back from a journal).
 */
export interface MoveKind<R extends MoveRecord> {
  begin?(state: ClusterState, record: R): Promise<ClusterState>;
  build(ctx: MoveContext, state: ClusterState, record: R): Move;
}

/** Whether each node of the cluster runs now, as the engine says. */
export async function runningNow(engine: Pick<Provider, 'listNodes'>, cluster: string): Promise<(node: NodePlan) => boolean> {
  const containers = await engine.listNodes({ [LABEL_CLUSTER]: cluster });
  const running = new Set(containers.filter((c) => c.state === 'running').map((c) => c.name));
  return (node) => running.has(node.name);
}

/** A move's context for node changes: the plan it works on, the state's certificates, the API through the lb. */
export function joinContext(ctx: MoveContext, state: ClusterState, plan: ClusterPlan): JoinContext {
  return { engine: ctx.engine, plan, pki: state.pki, deadline: ctx.deadline, api: hostApiOf(state, ctx.apiProbe) };
}

/** A master that runs and is not `except`: the one kubectl and etcdctl work through; an error when there is none. */
export function throughMaster(plan: ClusterPlan, isRunning: (node: NodePlan) => boolean, except?: string): NodePlan {
  const master = plan.masters.find((m) => m.name !== except && isRunning(m));
  if (!master) throw new Error(`cluster "${plan.spec.name}" has no running master${except ? ` besides ${except}` : ''} to work through: start it first (kc start cluster --name ${plan.spec.name})`);
  return master;
}
