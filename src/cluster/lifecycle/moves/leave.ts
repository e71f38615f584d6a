import { localVolumesOn, type PersistentVolumeList } from '../../../components/local-path-storage.js';
import { allNodes, withNodeRemoved, type ClusterPlan, type NodePlan } from '../../../model/plan.js';
import { withoutNodePki } from '../../../pki/cluster-pki.js';
import { execOrThrow } from '../../../provider/provider.js';
import type { LeaveRecord } from '../../../state/cluster-state.js';
import { counted } from '../../../util/words.js';
import { removeNodeContainer } from '../../node/container.js';
import {
  CONTROL_PLANE_UNITS,
  drainWorker,
  kubectlVia,
  refreshPodRoutes,
  reloadHaproxy,
  stopControlPlane,
  waitForHaproxyBackends,
  type JoinContext,
} from './access.js';
import { healthyMasters, leaveEtcd, listMembers, memberOf } from './etcd.js';
import { joinContext, runningNow, throughMaster, type MoveContext, type MoveKind, type MoveStep, type UndoOutcome } from './move.js';

/**
 * A master or worker leaves a running cluster. A worker is drained
 * (evictions respect PodDisruptionBudgets), its Node deleted, its container
 * and volumes removed, the other nodes' routes to its pods dropped. A master
 * is taken out of HAProxy first (no new connections reach it), its API
 * server stopped gracefully (it takes its address out of the `kubernetes`
 * Service), then its etcd member removed, then its container. Up to the
 * point where the node is gone from Kubernetes (a worker's Node deleted, a
 * master's etcd member removed) a stopped leave is taken back; from there
 * it is finished.
 */
export const leaveNode: MoveKind<LeaveRecord> = {
  build(ctx, state, record) {
    const node = record.node;
    const plan = state.plan;
    const next = withNodeRemoved(plan, node.name);
    const steps = node.role === 'worker' ? workerLeaveSteps(ctx, joinContext(ctx, state, plan), next, node, record.force) : masterLeaveSteps(ctx, joinContext(ctx, state, next), plan, node);
    return {
      record,
      subject: node.name,
      steps,
      // A worker from the deletion of its Node, a master from its container's removal (the undo says when its member is gone already).
      finishFrom: node.role === 'worker' ? 1 : 2,
      undo: () => (node.role === 'worker' ? uncordon(ctx, joinContext(ctx, state, plan), node) : backIntoService(ctx, joinContext(ctx, state, plan), node)),
      done: (s) => ({ ...s, plan: withNodeRemoved(s.plan, node.name), pki: withoutNodePki(s.pki, node.name) }),
      undone: (s) => s,
    };
  },
};

function workerLeaveSteps(ctx: MoveContext, now: JoinContext, next: ClusterPlan, worker: NodePlan, force: boolean): MoveStep[] {
  const { engine, progress } = ctx;
  return [
    {
      title: `Draining ${worker.name}`,
      async run(note) {
        const isRunning = await runningNow(engine, now.plan.spec.name);
        const via = throughMaster(now.plan, isRunning, worker.name);
        if (now.plan.spec.addons.storage) await warnOfLocalVolumes(now, progress, via, worker);
        // A stopped worker's kubelet cannot confirm its pods are gone, so a drain would wait for nothing: once its Node
        // object is deleted, Kubernetes' pod garbage collector removes them and their controllers recreate them elsewhere.
        if (!isRunning(worker)) {
          note('not running: no drain; its pods are rescheduled once its Node object is deleted');
          return;
        }
        await drainWorker(now, worker, via, force);
        note('evictions respect PodDisruptionBudgets');
      },
    },
    {
      title: `Removing ${worker.name}`,
      async run(note) {
        const via = throughMaster(now.plan, await runningNow(engine, now.plan.spec.name), worker.name);
        await kubectlVia(now, via, ['delete', 'node', worker.name, '--ignore-not-found']);
        await removeNodeContainer(engine, worker);
        note('Node deleted, container removed');
      },
    },
    {
      title: 'Updating pod routes',
      async run(note) {
        // Nodes that run: a stopped one runs no command, and reads its routes again as it boots.
        const others = allNodes(next).filter(await runningNow(engine, next.spec.name));
        await refreshPodRoutes(engine, next, others, worker.podSubnet);
        // The ingress's HAProxy backends are the workers (components/haproxy.ts); a stopped lb reads them as it boots.
        if (next.spec.addons.ingress && others.includes(next.lb)) await reloadHaproxy(engine, next);
        note(`${counted(others.length, 'node')} no longer ${others.length === 1 ? 'routes' : 'route'} ${worker.podSubnet ?? ''}${next.spec.addons.ingress ? ', nor sends it ingress traffic' : ''}`);
      },
    },
  ];
}

/**
 * Says what becomes of the worker's PersistentVolumes (the `standard` class
 * keeps their data on the worker's own volume): deleted with it. Their claims
 * stay, bound to a volume on no node, so a pod that uses one cannot start
 * again until the claim is deleted and made anew.
 */
async function warnOfLocalVolumes(ctx: JoinContext, progress: MoveContext['progress'], via: NodePlan, worker: NodePlan): Promise<void> {
  const volumes = localVolumesOn(JSON.parse(await kubectlVia(ctx, via, ['get', 'pv', '-o', 'json'])) as PersistentVolumeList, worker.name);
  if (volumes.length === 0) return;
  progress.info(
    `   ${worker.name} holds the data of ${counted(volumes.length, 'PersistentVolume')} (${volumes.join(', ')}): it is deleted with the worker. ` +
      (volumes.length === 1
        ? 'Its claim stays, bound to a volume on no node: delete and recreate it for a pod that uses it to start elsewhere.'
        : 'Their claims stay, bound to volumes on no node: delete and recreate them for pods that use them to start elsewhere.'),
  );
}

/** `next` is the plan without the master: HAProxy's list and the etcd members that stay. */
function masterLeaveSteps(ctx: MoveContext, next: JoinContext, plan: ClusterPlan, master: NodePlan): MoveStep[] {
  const { engine } = ctx;
  return [
    {
      title: `Taking ${master.name} out of HAProxy`,
      async run(note) {
        await reloadHaproxy(engine, next.plan);
        await waitForHaproxyBackends(next);
        note(`${counted(next.plan.masters.length, 'backend')}`);
      },
    },
    {
      title: `Removing ${master.name} from etcd`,
      async run(note) {
        const isRunning = await runningNow(engine, plan.spec.name);
        if (isRunning(master)) await stopControlPlane(next, master, throughMaster(plan, isRunning, master.name));
        const id = await leaveEtcd({ ...next, plan }, master, next.plan.masters, isRunning(master));
        note(id ? `member ${id} removed, ${next.plan.masters.length} left` : 'was not a member');
      },
    },
    {
      title: `Removing ${master.name}`,
      async run(note) {
        await removeNodeContainer(engine, master);
        note('container removed');
      },
    },
  ];
}

/** A worker that stays after all: schedulable again. */
async function uncordon(ctx: MoveContext, now: JoinContext, worker: NodePlan): Promise<UndoOutcome> {
  const isRunning = await runningNow(ctx.engine, now.plan.spec.name);
  if (isRunning(worker)) await kubectlVia(now, throughMaster(now.plan, isRunning, worker.name), ['uncordon', worker.name]);
  return 'undone';
}

/**
 * A master that stays after all, while it is still an etcd member: its
 * control plane started again, back in HAProxy. Once its member is gone it
 * can only leave: too late.
 */
async function backIntoService(ctx: MoveContext, now: JoinContext, master: NodePlan): Promise<UndoOutcome> {
  const { engine, plan } = now;
  const others = plan.masters.filter((m) => m.name !== master.name);
  const healthy = await healthyMasters(engine, plan, others);
  const via = healthy[0];
  if (via && !memberOf(await listMembers(engine, plan, via, healthy), master)) return 'too-late';
  if ((await runningNow(ctx.engine, plan.spec.name))(master)) await execOrThrow(engine, master, ['systemctl', 'start', ...CONTROL_PLANE_UNITS]);
  await reloadHaproxy(engine, plan);
  return 'undone';
}
