import { etcdPeerUrl } from '../../components/etcd.js';
import { apiClientUnits, joinBootBundle, runsKubeRouter } from '../../components/index.js';
import { UNIT } from '../../components/units.js';
import { allNodes, withNodeAdded, type ChangeableRole, type ClusterPlan, type NodePlan } from '../../model/plan.js';
import { withNodePki } from '../../pki/cluster-pki.js';
import { execOrThrow, type Provider } from '../../provider/provider.js';
import { saveState, type ClusterState } from '../../state/cluster-state.js';
import { withClusterLock } from '../../state/lock.js';
import { Deadline } from '../../util/deadline.js';
import { UsageError } from '../../util/errors.js';
import type { Progress } from '../../util/progress.js';
import { waitForKubeRouter, waitForNodesReady, waitForRegistered } from '../kube/waits.js';
import { hostApiOf, type ApiProbe, type HostApi } from '../kube/api.js';
import { assignPodCidrs } from '../kube/kubectl.js';
import { bootNode } from '../node/boot.js';
import { removeNodeContainer } from '../node/container.js';
import { journalTail, startLoadedUnits, waitForBoot, waitForUnit } from '../node/units.js';
import { waitUntil } from '../../util/poll.js';
import { readCluster, requireNoUnfinishedChange, requireRunning } from '../ops/status.js';
import { etcdctl, healthyMasters, listMembers, memberOf, tryEtcdctl } from './etcd-membership.js';
import { addHostsEntry, deliverAdminKubeconfig, kubectlVia, refreshPodRoutes, reloadHaproxy, waitForHaproxyBackends, type ChangeContext } from './node-access.js';
import { changeStep, NodeChangeError, UndoLog } from './undo.js';
import { counted } from '../../util/words.js';

export interface AddNodesOptions {
  engine: Provider;
  progress: Progress;
  cluster: string;
  role: ChangeableRole;
  count: number;
  waitSeconds: number;
  /** How the API server is asked from the host; the real HTTPS request unless a test says otherwise. */
  apiProbe?: ApiProbe;
}

export interface AddNodesResult {
  added: string[];
  /** Seconds each node took to join, in order. */
  seconds: number[];
}

/** How many nodes one command may add (the layout's own limit is checked against the plan). */
export const MAX_NODES_PER_ADD = 20;

/**
 * `kc create node`: adds `count` masters or workers to a running cluster, one
 * after the other, each a change of its own: when one fails it is taken back
 * and the ones before it stay (they are recorded in the state as they finish).
 */
export async function addNodes(options: AddNodesOptions): Promise<AddNodesResult> {
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > MAX_NODES_PER_ADD) {
    throw new UsageError(`--count ${options.count} is not a number of nodes to add: give a whole number from 1 to ${MAX_NODES_PER_ADD}`);
  }
  return withClusterLock(options.cluster, async () => {
    const cluster = await readCluster(options.engine, options.cluster);
    requireRunning(cluster, `add a ${options.role}`);
    requireNoUnfinishedChange(cluster, `add a ${options.role}`);
    const deadline = new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'node change');
    let state = cluster.state;
    const result: AddNodesResult = { added: [], seconds: [] };
    for (let i = 0; i < options.count; i += 1) {
      const started = Date.now();
      const added = await addOneNode(options, state, deadline);
      state = added.state;
      result.added.push(added.node.name);
      result.seconds.push((Date.now() - started) / 1000);
    }
    return result;
  });
}

async function addOneNode(options: AddNodesOptions, state: ClusterState, deadline: Deadline): Promise<{ state: ClusterState; node: NodePlan }> {
  const { engine, progress } = options;
  const old = state.plan;
  let added: { plan: ClusterPlan; node: NodePlan };
  try {
    added = withNodeAdded(old, options.role);
  } catch (error) {
    throw new UsageError(`cannot add a ${options.role} to cluster "${old.spec.name}": ${(error as Error).message}`);
  }
  const { plan, node } = added;
  const pki = await withNodePki(state.pki, plan, node);
  const boot = joinBootBundle(plan, node, pki);
  const ctx: JoinContext = { engine, plan, pki, deadline, api: hostApiOf({ ...state, pki }, options.apiProbe) };
  const undo = new UndoLog();
  const step = <T>(title: string, work: (note: (s: string) => void) => Promise<T>) =>
    changeStep(progress, undo, title, `Check the cluster with \`kc get nodes --name ${old.spec.name}\`, then remove ${node.name} with \`kc delete node ${node.name} --name ${old.spec.name}\`.`, work);

  await step(`Starting ${node.name}`, async (note) => {
    undo.push(`removing container ${node.name}`, () => removeNodeContainer(engine, node));
    // Every file in place before it boots, as in create: a worker starts its units with it, a master waits for its etcd member.
    progress.detail(await bootNode(engine, plan, node, state.apiServerHostPort ?? 0, boot));
    await addHostsEntry(engine, allNodes(old), node);
    await waitForBoot(engine, node, deadline);
    note(`${node.ip}, certificates signed by the cluster's CA`);
  });
  if (node.role === 'worker') await joinWorker(ctx, old, node, undo, step);
  else await joinMaster(ctx, old, node, boot.startedLater, undo, step);

  const next: ClusterState = { ...state, plan, pki };
  try {
    await saveState(next);
  } catch (error) {
    throw new NodeChangeError('Recording the new node', error, await undo.rollBack(), '');
  }
  return { state: next, node };
}

/** A node change that waits on the API server too: through the lb, from this host. */
export type JoinContext = ChangeContext & { api: HostApi };

export type StepFn = <T>(title: string, work: (note: (s: string) => void) => Promise<T>) => Promise<T>;

/** A running master to work through (kubectl, etcdctl) while the change is made. */
function firstMaster(plan: ClusterPlan, except?: string): NodePlan {
  const master = plan.masters.find((m) => m.name !== except);
  if (!master) throw new Error('internal: no master to work through');
  return master;
}

async function joinWorker(ctx: JoinContext, old: ClusterPlan, worker: NodePlan, undo: UndoLog, step: StepFn): Promise<void> {
  const { engine, plan } = ctx;
  const via = firstMaster(plan);
  const kubeletJournal = () => journalTail(engine, worker, UNIT.kubelet);
  await step(`Joining ${worker.name}`, async (note) => {
    undo.push(`deleting Node ${worker.name}`, async () => {
      await kubectlVia(ctx, via, ['delete', 'node', worker.name, '--ignore-not-found', '--wait=false']);
    });
    const podCidrs = await waitForRegistered(ctx.api, [worker.name], ctx.deadline, kubeletJournal);
    await deliverAdminKubeconfig(ctx, via);
    await assignPodCidrs(engine, plan, [worker], podCidrs, via);
    note(`kubelet registered, pods on ${worker.podSubnet ?? 'its network'}`);
  });
  await step('Updating pod routes', async (note) => {
    const others = allNodes(plan).filter((n) => n.name !== worker.name);
    undo.push('restoring the pod routes', () => refreshPodRoutes(engine, old, others, worker.podSubnet));
    await refreshPodRoutes(engine, plan, others);
    // The ingress's HAProxy backends are the workers (components/haproxy.ts).
    if (plan.spec.addons.ingress) {
      undo.push("restoring HAProxy's ingress backends", () => reloadHaproxy(engine, old));
      await reloadHaproxy(engine, plan);
    }
    note(`${counted(others.length, 'node')} ${others.length === 1 ? 'routes' : 'route'} ${worker.podSubnet ?? ''} to ${worker.ip}${plan.spec.addons.ingress ? ', an ingress backend' : ''}`);
  });
  await step(`Waiting for ${worker.name} to be Ready`, async (note) => {
    await waitForNodesReady(ctx.api, [worker.name], ctx.deadline, { onTimeout: kubeletJournal });
    if (runsKubeRouter(plan)) await waitForKubeRouter(ctx, [worker]);
    note(apiClientUnits(plan).map((u) => u.replace(/\.service$/, '')).join(', '));
  });
}

/** A booted master into etcd (a learner, then a voter), its control plane started, then into HAProxy: kc create node and kc upgrade cluster. */
export async function joinMaster(ctx: JoinContext, old: ClusterPlan, master: NodePlan, units: readonly string[], undo: UndoLog, step: StepFn): Promise<void> {
  const { engine, plan } = ctx;
  await step(`Adding ${master.name} to etcd`, async (note) => {
    const members = await healthyMasters(engine, plan, old.masters);
    const via = members[0];
    if (!via) throw new Error('no etcd member answers: the cluster cannot take a new member now');
    // A learner first (etcd's advice for a running cluster): it gets the data without a vote, so a slow or
    // failed start cannot cost the cluster its quorum; it becomes a voter once it has caught up.
    await etcdctl(engine, plan, via, ['member', 'add', master.name, `--peer-urls=${etcdPeerUrl(master)}`, '--learner'], members);
    undo.push(`removing ${master.name} from etcd`, async () => {
      const id = memberOf(await listMembers(engine, plan, via, members), master)?.id;
      if (id) await etcdctl(engine, plan, via, ['member', 'remove', id], members);
    });
    await startLoadedUnits(engine, master, [UNIT.etcd]);
    await waitUntil(
      `${master.name}'s etcd to catch up and become a voting member`,
      async () => {
        const id = memberOf(await listMembers(engine, plan, via, members), master)?.id;
        if (!id) return 'not a member';
        // etcd refuses to promote a learner that is not in sync with the leader yet: that refusal is the progress check.
        const promoted = await tryEtcdctl(engine, plan, via, ['member', 'promote', id], members);
        // "can only promote a learner member": an earlier promote went through though its answer was lost.
        return promoted.exitCode === 0 || ALREADY_A_VOTER.test(promoted.stderr) || promoted.stderr.trim().split('\n').pop() || 'not promoted';
      },
      { deadline: ctx.deadline, intervalMs: 250, onTimeout: () => journalTail(engine, master, UNIT.etcd) },
    );
    await waitForEtcdReady(ctx, master);
    note(`learner, then voting member ${plan.masters.length} of ${plan.masters.length}`);
  });
  await step(`Starting control plane on ${master.name}`, async (note) => {
    await startLoadedUnits(engine, master, units.filter((unit) => unit !== UNIT.etcd));
    await waitUntil(
      `the API server on ${master.name} to be ready`,
      async () => {
        // Its own API server, by the admin kubeconfig every master has: the lb does not route to it yet.
        const readyz = await kubectlVia(ctx, master, ['get', '--raw', '/readyz']);
        return readyz.trim() === 'ok' || readyz.trim();
      },
      { deadline: ctx.deadline, intervalMs: 250, onTimeout: () => journalTail(engine, master, UNIT.apiServer) },
    );
    note('kube-apiserver, controller-manager, scheduler, kube-proxy');
  });
  await step('Adding it to HAProxy', async (note) => {
    undo.push('restoring HAProxy\'s backend list', () => reloadHaproxy(engine, old));
    await reloadHaproxy(engine, plan);
    await waitForHaproxyBackends(ctx);
    note(`${counted(plan.masters.length, 'backend')}, reloaded without dropping connections`);
  });
}

/**
 * etcd's answer (ErrMemberNotLearner) to promoting a member that already
 * votes; a learner not caught up yet gets the same words and "which is in
 * sync with leader" (ErrLearnerNotReady).
 */
const ALREADY_A_VOTER = /can only promote a learner member\s*$/m;

/** How long a new etcd member gets to report ready once it is a voter, before kc restarts it. */
const ETCD_PUBLISH_GRACE_MS = 1000;

/**
 * Waits for the new member's etcd to tell systemd it is ready: the API server
 * beside it starts only then. As a learner it asks the leader to publish its
 * name while it applies the leader's snapshot, which restarts its peer
 * streams: that request can be lost, and etcd asks again only after its 7 s
 * request timeout (its journal: "lost TCP streaming connection", then "failed
 * to publish local member"). Now a voting member, a restarted etcd publishes
 * at once.
 */
async function waitForEtcdReady(ctx: ChangeContext, master: NodePlan): Promise<void> {
  const ready = await waitForUnit(ctx.engine, master, UNIT.etcd, ctx.deadline, ETCD_PUBLISH_GRACE_MS).then(
    () => true,
    () => false,
  );
  if (ready) return;
  await execOrThrow(ctx.engine, master.name, ['systemctl', 'restart', UNIT.etcd]);
  await waitForUnit(ctx.engine, master, UNIT.etcd, ctx.deadline);
}
