import { apiClientUnits, joinBootBundle, runsKubeRouter } from '../../../components/index.js';
import { UNIT } from '../../../components/units.js';
import { allNodes, withNode, withNodeRemoved, type ClusterPlan, type NodePlan } from '../../../model/plan.js';
import { withNodePki, withoutNodePki } from '../../../pki/cluster-pki.js';
import type { JoinRecord } from '../../../state/cluster-state.js';
import { counted } from '../../../util/words.js';
import { assignPodCidrs } from '../../kube/kubectl.js';
import { waitForKubeRouter, waitForNodesReady, waitForRegistered } from '../../kube/waits.js';
import { bootNode } from '../../node/boot.js';
import { removeNodeContainer } from '../../node/container.js';
import { journalTail, startLoadedUnits, waitForBoot } from '../../node/units.js';
import {
  addHostsEntry,
  deliverAdminKubeconfig,
  kubectlVia,
  refreshPodRoutes,
  reloadHaproxy,
  stopControlPlane,
  waitForHaproxyBackends,
  waitForOwnApiServer,
  type JoinContext,
} from './access.js';
import { joinEtcd, leaveEtcd } from './etcd.js';
import { joinContext, runningNow, throughMaster, type MoveContext, type MoveKind, type MoveStep, type UndoOutcome } from './move.js';

/** The step of a joining master at which HAProxy starts to route to it: what its undo must take back from there on. */
const MASTER_IN_HAPROXY_STEP = 3;
/** The step of a joining master from which its API server runs. */
const MASTER_API_STEP = 2;
/** The step of a joining worker at which the other nodes start to route to its pods. */
const WORKER_ROUTED_STEP = 2;

/**
 * A master or worker joins a running cluster in its slot. Its container is
 * created with every file in place, as in create; then a worker registers,
 * gets its pod range, routes from every other node and becomes Ready, and a
 * master joins etcd (a learner, then a voter), starts its control plane and
 * becomes an HAProxy backend. A join that stopped is always taken back, from
 * wherever it stopped (running the command again adds the node anew): the
 * slot stays free until the move is done.
 */
export const joinNode: MoveKind<JoinRecord> = {
  // Its certificates are in the state from the start: the node boots with them, and the undo drops them.
  async begin(state, record) {
    return { ...state, pki: await withNodePki(state.pki, withNode(state.plan, record.node), record.node) };
  },

  build(ctx, state, record) {
    const node = record.node;
    const old = withNodeRemoved(state.plan, node.name);
    const plan = withNode(old, node);
    const join = joinContext(ctx, state, plan);
    const boot = joinBootBundle(plan, node, state.pki);
    const steps: MoveStep[] = [
      {
        title: `Starting ${node.name}`,
        async run(note) {
          // Every file in place before it boots, as in create: a worker starts its units with it, a master waits for its etcd member.
          ctx.progress.detail(await bootNode(ctx.engine, plan, node, state.apiServerHostPort ?? 0, boot));
          await addHostsEntry(ctx.engine, allNodes(old), node);
          await waitForBoot(ctx.engine, node, ctx.deadline);
          note(`${node.ip}, certificates signed by the cluster's CA`);
        },
      },
      ...(node.role === 'worker' ? workerJoinSteps(join, node) : masterJoinSteps(join, node, boot.startedLater)),
    ];
    return {
      record,
      subject: node.name,
      steps,
      finishFrom: steps.length,
      undo: () => takeBack(ctx, join, old, node, record),
      done: (s) => ({ ...s, plan: withNode(s.plan, node) }),
      undone: (s) => ({ ...s, pki: withoutNodePki(s.pki, node.name) }),
    };
  },
};

/** A booted worker: registered (its podCIDR set), routed to by every other node, Ready. */
function workerJoinSteps(ctx: JoinContext, worker: NodePlan): MoveStep[] {
  const { engine, plan } = ctx;
  const via = plan.masters[0];
  if (!via) throw new Error('internal: no master to work through');
  const kubeletJournal = () => journalTail(engine, worker, UNIT.kubelet);
  return [
    {
      title: `Joining ${worker.name}`,
      async run(note) {
        const podCidrs = await waitForRegistered(ctx.api, [worker.name], ctx.deadline, kubeletJournal);
        await deliverAdminKubeconfig(ctx, via);
        await assignPodCidrs(engine, plan, [worker], podCidrs, via);
        note(`kubelet registered, pods on ${worker.podSubnet ?? 'its network'}`);
      },
    },
    {
      title: 'Updating pod routes',
      async run(note) {
        const others = allNodes(plan).filter((n) => n.name !== worker.name);
        await refreshPodRoutes(engine, plan, others);
        // The ingress's HAProxy backends are the workers (components/haproxy.ts).
        if (plan.spec.addons.ingress) await reloadHaproxy(engine, plan);
        note(`${counted(others.length, 'node')} ${others.length === 1 ? 'routes' : 'route'} ${worker.podSubnet ?? ''} to ${worker.ip}${plan.spec.addons.ingress ? ', an ingress backend' : ''}`);
      },
    },
    {
      title: `Waiting for ${worker.name} to be Ready`,
      async run(note) {
        await waitForNodesReady(ctx.api, [worker.name], ctx.deadline, { onTimeout: kubeletJournal });
        if (runsKubeRouter(plan)) await waitForKubeRouter(ctx, [worker]);
        note(apiClientUnits(plan).map((u) => u.replace(/\.service$/, '')).join(', '));
      },
    },
  ];
}

/**
 * A booted master into etcd (a learner, then a voter), its control plane
 * started, then into HAProxy: a master that joins (kc create node) and one
 * replaced by an upgrade. `units` are what its boot left to start later.
 */
export function masterJoinSteps(ctx: JoinContext, master: NodePlan, units: readonly string[]): MoveStep[] {
  const { engine, plan } = ctx;
  return [
    {
      title: `Adding ${master.name} to etcd`,
      async run(note) {
        await joinEtcd(ctx, master, plan.masters.filter((m) => m.name !== master.name));
        note(`learner, then voting member ${plan.masters.length} of ${plan.masters.length}`);
      },
    },
    {
      title: `Starting control plane on ${master.name}`,
      async run(note) {
        await startLoadedUnits(engine, master, units.filter((unit) => unit !== UNIT.etcd));
        await waitForOwnApiServer(ctx, master);
        note('kube-apiserver, controller-manager, scheduler, kube-proxy');
      },
    },
    {
      title: 'Adding it to HAProxy',
      async run(note) {
        await reloadHaproxy(engine, plan);
        await waitForHaproxyBackends(ctx);
        note(`${counted(plan.masters.length, 'backend')}, reloaded without dropping connections`);
      },
    },
  ];
}

/**
 * Takes a join back from wherever it stopped, by what is there now: out of
 * HAProxy, its API server stopped (its address leaves the `kubernetes`
 * Service) and its etcd member removed (a master); its Node object deleted
 * and the routes to its pods dropped (a worker); its container and volumes
 * removed. Each part is harmless where there is nothing to take back.
 */
async function takeBack(ctx: MoveContext, join: JoinContext, old: ClusterPlan, node: NodePlan, record: JoinRecord): Promise<UndoOutcome> {
  const { engine } = ctx;
  const isRunning = await runningNow(engine, old.spec.name);
  const via = throughMaster(old, isRunning);
  if (node.role === 'master') {
    if (record.step >= MASTER_IN_HAPROXY_STEP) await reloadHaproxy(engine, old);
    if (record.step >= MASTER_API_STEP && isRunning(node)) await stopControlPlane(join, node, via);
    await leaveEtcd(join, node, old.masters, isRunning(node));
  } else {
    await kubectlVia({ ...join, plan: old }, via, ['delete', 'node', node.name, '--ignore-not-found', '--wait=false']);
  }
  await removeNodeContainer(engine, node);
  if (node.role === 'worker' && record.step >= WORKER_ROUTED_STEP) {
    await refreshPodRoutes(engine, old, allNodes(old).filter(isRunning), node.podSubnet);
    if (old.spec.addons.ingress && isRunning(old.lb)) await reloadHaproxy(engine, old);
  }
  return 'undone';
}
