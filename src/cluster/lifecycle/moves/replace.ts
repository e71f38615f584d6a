import { haproxySetServerCommand } from '../../../components/haproxy.js';
import { joinBootBundle, runsKubeRouter } from '../../../components/index.js';
import { UNIT } from '../../../components/units.js';
import { allNodes, upgradedPlan, type NodePlan } from '../../../model/plan.js';
import { execOrThrow } from '../../../provider/provider.js';
import type { ClusterState, ReplaceRecord } from '../../../state/cluster-state.js';
import { waitForKubeRouter, waitForNodesReady } from '../../kube/waits.js';
import { bootNode } from '../../node/boot.js';
import { journalTail, waitForBoot } from '../../node/units.js';
import { drainWorker, kubectlVia, stopControlPlane, type JoinContext } from './access.js';
import { listMembers, memberHealth, memberOf, quorumAfterRemoval, removeMember, unhealthyNamed } from './etcd.js';
import { masterJoinSteps } from './join.js';
import { joinContext, runningNow, type MoveContext, type MoveKind, type MoveStep } from './move.js';

/**
 * A node's container replaced by one of another release (kc upgrade
 * cluster), with the same name, address, certificates, volumes, engine and
 * published host ports. A master is taken out of HAProxy and etcd first (one
 * voter fewer: the others keep the quorum), replaced, and joins again as a
 * master joins (learner, voter, control plane, HAProxy). A worker is drained,
 * replaced with its containerd volume kept, Ready with a heartbeat from its
 * new kubelet, and uncordoned. A replacement that stopped is always finished,
 * never taken back: the release only moves forward.
 */
export const replaceNode: MoveKind<ReplaceRecord> = {
  build(ctx, state, record) {
    const plan = upgradedPlan(state.plan, record.kubernetesVersion, record.image);
    // As the new release's plan has it: a master marked as joined (its etcd joins the members that run).
    const node = allNodes(plan).find((n) => n.name === record.node.name) ?? record.node;
    const join = joinContext(ctx, state, plan);
    const steps = node.role === 'master' ? replaceMasterSteps(ctx, join, state, record, node) : replaceWorkerSteps(ctx, join, state, record, node);
    return {
      record,
      subject: node.name,
      steps,
      finishFrom: 0,
      undo: () => Promise.resolve('too-late'),
      done: (s) => withNodeUpgraded(s, node),
      undone: (s) => s,
    };
  },
};

/** The state once `node` runs the new release: an upgrade records it among the nodes done. */
function withNodeUpgraded(state: ClusterState, node: NodePlan): ClusterState {
  const operation = state.operation;
  if (operation?.kind !== 'upgrade' || operation.done.includes(node.name)) return state;
  return { ...state, operation: { ...operation, done: [...operation.done, node.name] } };
}

/** The step that removes the old container and makes the new one, with the old one's host ports. */
function replaceStep(ctx: MoveContext, join: JoinContext, state: ClusterState, record: ReplaceRecord, node: NodePlan, note: string): MoveStep {
  return {
    title: `Replacing ${node.name}`,
    async run(say) {
      await ctx.engine.removeNode(node);
      record.bootedAt = new Date().toISOString();
      const boot = joinBootBundle(join.plan, node, join.pki);
      ctx.progress.detail(await bootNode(ctx.engine, join.plan, node, state.apiServerHostPort ?? 0, boot, record.ports ?? []));
      await waitForBoot(ctx.engine, node, ctx.deadline);
      say(note);
    },
  };
}

function replaceMasterSteps(ctx: MoveContext, join: JoinContext, state: ClusterState, record: ReplaceRecord, master: NodePlan): MoveStep[] {
  const { engine, plan } = join;
  return [
    {
      title: `Taking ${master.name} out of HAProxy and etcd`,
      async run(note) {
        const others = plan.masters.filter((m) => m.name !== master.name);
        const present = (await runningNow(engine, plan.spec.name))(master);
        const health = await memberHealth(engine, plan, others);
        const healthy = health.filter((h) => h.problem === undefined).map((h) => h.master);
        const via = healthy[0];
        if (!via) throw new Error(`no other etcd member answers (${unhealthyNamed(health)}): replacing ${master.name} now would lose the cluster's data`);
        const members = await listMembers(engine, plan, via, healthy);
        const member = memberOf(members, master);
        const voters = members.filter((m) => !m.isLearner).length;
        if (member && quorumAfterRemoval(voters, healthy.length + (present ? 1 : 0), present).breaksQuorum) {
          throw new Error(`removing ${master.name}'s etcd member would break etcd's quorum (${healthy.length} other members answer): start the stopped masters first`);
        }
        if (present) {
          await execOrThrow(engine, plan.lb, haproxySetServerCommand(master.name, 'drain'));
          await stopControlPlane(join, master, via);
        }
        if (member) await removeMember(join, via, healthy, member.id, present ? master : undefined);
        note(member ? `member ${member.id} removed, ${healthy.length} answering` : 'was no longer an etcd member');
      },
    },
    replaceStep(ctx, join, state, record, master, plan.spec.nodeImage),
    ...masterJoinSteps(join, master, joinBootBundle(plan, master, join.pki).startedLater),
  ];
}

function replaceWorkerSteps(ctx: MoveContext, join: JoinContext, state: ClusterState, record: ReplaceRecord, worker: NodePlan): MoveStep[] {
  const { engine, plan } = join;
  const via = plan.masters[0];
  if (!via) throw new Error('internal: no masters');
  return [
    {
      title: `Draining ${worker.name}`,
      async run(note) {
        if (!(await runningNow(engine, plan.spec.name))(worker)) {
          note('not running: nothing to drain');
          return;
        }
        await drainWorker(join, worker, via, false);
        note('evictions respect PodDisruptionBudgets');
      },
    },
    replaceStep(ctx, join, state, record, worker, `${plan.spec.nodeImage}, containerd's images kept`),
    {
      title: `Waiting for ${worker.name} to be Ready`,
      async run(note) {
        const since = Date.parse(record.bootedAt ?? '') || Date.now();
        await waitForNodesReady(join.api, [worker.name], ctx.deadline, {
          fresh: { started: new Set([worker.name]), since },
          onTimeout: () => journalTail(engine, worker, UNIT.kubelet),
        });
        if (runsKubeRouter(plan)) await waitForKubeRouter(join, [worker]);
        await kubectlVia(join, via, ['uncordon', worker.name]);
        note('uncordoned');
      },
    },
  ];
}
