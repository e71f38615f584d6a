import type { ClusterPlan, NodePlan } from '../../model/plan.js';
import { allNodes } from '../../model/plan.js';
import { LABEL_CLUSTER, type Nodes, type NodeSummary } from '../../provider/provider.js';
import { loadState, type ClusterState } from '../../state/cluster-state.js';
import { UsageError } from '../../util/errors.js';

/** A node container as `kc get nodes` shows it: up, down, or gone (in the state, not in the engine). */
export type NodeStatus = 'running' | 'stopped' | 'missing';

/** A cluster as `kc get clusters` shows it: every node up, every node down, or some of each. */
export type ClusterStatus = 'running' | 'stopped' | 'partial';

/** A container's engine state in kc's words (`exited`, `created`, `paused`, `dead` are all down). */
export function nodeStatus(container: Pick<NodeSummary, 'state'> | undefined): NodeStatus {
  if (!container) return 'missing';
  return container.state === 'running' ? 'running' : 'stopped';
}

/** Pure: the status of a cluster from its nodes' statuses (none: stopped, there is nothing running). */
export function clusterStatus(nodes: readonly NodeStatus[]): ClusterStatus {
  if (nodes.length > 0 && nodes.every((s) => s === 'running')) return 'running';
  if (nodes.every((s) => s !== 'running')) return 'stopped';
  return 'partial';
}

/** A cluster kc can change: its state, and what the engine says of each of its nodes now. */
export interface ClusterNow {
  state: ClusterState;
  plan: ClusterPlan;
  statusOf: (node: NodePlan) => NodeStatus;
  status: ClusterStatus;
  /** Containers labelled with the cluster, by name (a node removed half-way may still have one). */
  containers: Map<string, NodeSummary>;
}

/** The node statuses of a cluster by container name, for `kc get`. */
export async function containerStatuses(engine: Pick<Nodes, 'listNodes'>, cluster: string): Promise<Map<string, NodeSummary>> {
  const containers = await engine.listNodes({ [LABEL_CLUSTER]: cluster });
  return new Map(containers.map((c) => [c.name, c]));
}

/** What the engine says of each node now, by the plan's nodes. */
export async function statusesNow(engine: Pick<Nodes, 'listNodes'>, cluster: string): Promise<(node: NodePlan) => NodeStatus> {
  const containers = await containerStatuses(engine, cluster);
  return (node) => nodeStatus(containers.get(node.name));
}

/** The cluster's state and its nodes' statuses; a UsageError naming what to run when kc has no such cluster. */
export async function readCluster(engine: Pick<Nodes, 'listNodes'>, name: string): Promise<ClusterNow> {
  const state = await loadState(name);
  const containers = await containerStatuses(engine, name);
  if (!state) {
    if (containers.size > 0) {
      throw new UsageError(
        `cluster "${name}" has containers but no kc state (it was not created by this kc, or its state was removed): ` +
          `kc cannot change it. Remove it with \`kc delete cluster --name ${name}\`.`,
      );
    }
    throw new UsageError(`no cluster named "${name}": kc get clusters lists them`);
  }
  if (state.deleting) {
    throw new UsageError(`cluster "${name}" is part-way deleted (a delete begun ${state.deleting} stopped): finish it with \`kc delete cluster --name ${name}\``);
  }
  const statusOf = (node: NodePlan) => nodeStatus(containers.get(node.name));
  return { state, plan: state.plan, statusOf, status: clusterStatus(allNodes(state.plan).map(statusOf)), containers };
}

/** Node changes need every node up: a stopped node would miss the change (routes, etcd membership, HAProxy's list). */
export function requireRunning(cluster: ClusterNow, what: string): void {
  if (cluster.status === 'running') return;
  const name = cluster.plan.spec.name;
  const down = allNodes(cluster.plan).filter((n) => cluster.statusOf(n) !== 'running');
  throw new UsageError(
    `cannot ${what}: cluster "${name}" is ${cluster.status} (${down.map((n) => `${n.name} ${cluster.statusOf(n)}`).join(', ')}). ` +
      `Start it first: kc start cluster --name ${name}`,
  );
}

/** What finishes a change that stopped part-way, in the user's words. */
export function unfinishedChange(cluster: ClusterNow): string | undefined {
  const operation = cluster.state.operation;
  const name = cluster.plan.spec.name;
  if (operation?.kind === 'upgrade') return `an upgrade to ${operation.to} stopped part-way: finish it first (kc upgrade cluster --kubernetes-version ${operation.to} --name ${name})`;
  if (operation?.kind === 'rotate-certificates') {
    return `a certificate rotation stopped part-way: finish it first (kc rotate certificates${operation.caPhase ? ' --ca' : ''} --name ${name})`;
  }
  return undefined;
}

/** Node changes and rollouts one at a time: one that stopped part-way is finished before another begins. */
export function requireNoUnfinishedChange(cluster: ClusterNow, what: string, continuing?: 'upgrade' | 'rotate-certificates'): void {
  if (cluster.state.operation === undefined || cluster.state.operation.kind === continuing) return;
  throw new UsageError(`cannot ${what} on cluster "${cluster.plan.spec.name}": ${unfinishedChange(cluster) ?? ''}`);
}
