import { etcdClientUrl, etcdctlCommand, etcdPeerUrl } from '../../../components/etcd.js';
import { UNIT } from '../../../components/units.js';
import type { ClusterPlan, NodePlan } from '../../../model/plan.js';
import { execOrThrow, type ExecResult, type NodeExec } from '../../../provider/provider.js';
import { concurrently } from '../../../util/concurrent.js';
import type { Deadline } from '../../../util/deadline.js';
import { waitUntil } from '../../../util/poll.js';
import { journalTail, startLoadedUnits, waitForUnit } from '../../node/units.js';

/**
 * A cluster's etcd membership as node changes read and change it: members
 * listed, a master joined as a learner and promoted, a member removed, with
 * etcd's quorum checked first.
 */

/** One member as `etcdctl member list -w json` reports it (IDs in hex, as etcdctl takes them). */
export interface EtcdMember {
  id: string;
  name: string;
  peerUrls: string[];
  isLearner: boolean;
}

interface MemberListJson {
  members?: { ID: number | string; name?: string; peerURLs?: string[]; isLearner?: boolean }[];
}

/**
 * Pure: members from `member list -w json`. etcdctl prints the 64-bit IDs as
 * JSON numbers, which lose precision as JS numbers, so they are read from the
 * text, not from JSON.parse's result.
 */
export function parseMemberList(json: string): EtcdMember[] {
  const exactIds = [...json.matchAll(/"ID":\s*(\d+)/g)].map((m) => BigInt(m[1] ?? '0'));
  const parsed = JSON.parse(json) as MemberListJson;
  return (parsed.members ?? []).map((m, i) => ({
    id: (exactIds[i] ?? BigInt(m.ID)).toString(16),
    name: m.name ?? '',
    peerUrls: m.peerURLs ?? [],
    isLearner: m.isLearner ?? false,
  }));
}

/** The member a master is, found by its peer URL (a learner that never started has no name yet). */
export function memberOf(members: readonly EtcdMember[], master: NodePlan): EtcdMember | undefined {
  return members.find((m) => m.peerUrls.includes(etcdPeerUrl(master)));
}

/**
 * What removing one voting member does to etcd's quorum (pure). etcd needs a
 * majority of its voting members healthy; `healthyAfter` counts the voters
 * left that answer now.
 */
export interface QuorumAfterRemoval {
  votersAfter: number;
  healthyAfter: number;
  quorumAfter: number;
  /** The remaining members cannot form a majority: etcd stops accepting writes. */
  breaksQuorum: boolean;
  /** The remaining members form a majority, but one more failure would break it. */
  noFaultTolerance: boolean;
}

export function quorumAfterRemoval(voters: number, healthyVoters: number, removedIsHealthy: boolean): QuorumAfterRemoval {
  const votersAfter = voters - 1;
  const healthyAfter = healthyVoters - (removedIsHealthy ? 1 : 0);
  const quorumAfter = Math.floor(votersAfter / 2) + 1;
  return {
    votersAfter,
    healthyAfter,
    quorumAfter,
    breaksQuorum: healthyAfter < quorumAfter,
    noFaultTolerance: healthyAfter >= quorumAfter && healthyAfter - 1 < quorumAfter,
  };
}

/** etcdctl on `via`, talking to the given members only (a member being removed or down would only slow it). */
export async function etcdctl(engine: NodeExec, plan: ClusterPlan, via: NodePlan, args: string[], members: readonly NodePlan[]): Promise<string> {
  return execOrThrow(engine, via, etcdctlCommand(plan, args, members.map(etcdClientUrl).join(',')));
}

/** Like etcdctl, but a refusal is an answer (its exit code and message), not an error. */
export async function tryEtcdctl(engine: NodeExec, plan: ClusterPlan, via: NodePlan, args: string[], members: readonly NodePlan[]): Promise<ExecResult> {
  return engine.exec(via, etcdctlCommand(plan, args, members.map(etcdClientUrl).join(',')));
}

export async function listMembers(engine: NodeExec, plan: ClusterPlan, via: NodePlan, members: readonly NodePlan[]): Promise<EtcdMember[]> {
  return parseMemberList(await etcdctl(engine, plan, via, ['member', 'list', '-w', 'json'], members));
}

/** A master's etcd member as a health check found it: healthy, or why not. */
export interface MemberHealth {
  master: NodePlan;
  problem?: string;
}

/** Each master's etcd member, asked for its health right now. */
export async function memberHealth(engine: NodeExec, plan: ClusterPlan, masters: readonly NodePlan[]): Promise<MemberHealth[]> {
  return concurrently(masters, async (master): Promise<MemberHealth> => {
    // A stopped master cannot even run the check: that is an unhealthy member too.
    const result = await engine.exec(master, etcdctlCommand(plan, ['endpoint', 'health', '--command-timeout=2s'], etcdClientUrl(master))).catch((error: unknown) => error as Error);
    if (result instanceof Error) return { master, problem: result.message };
    return result.exitCode === 0 ? { master } : { master, problem: `${result.stdout}${result.stderr}`.trim().split('\n').pop() || `exit ${result.exitCode}` };
  });
}

/** The masters whose etcd member answers a health check right now. */
export async function healthyMasters(engine: NodeExec, plan: ClusterPlan, masters: readonly NodePlan[]): Promise<NodePlan[]> {
  return (await memberHealth(engine, plan, masters)).filter((h) => h.problem === undefined).map((h) => h.master);
}

/** Pure: the members that did not answer, and why, for a message. */
export function unhealthyNamed(health: readonly MemberHealth[]): string {
  return health.filter((h) => h.problem !== undefined).map((h) => `${h.master.name}: ${h.problem ?? ''}`).join('; ');
}

/**
 * Pure: the leader's member ID (hex, as etcdctl takes IDs) in `endpoint
 * status -w json`, read from the text for the same reason as in
 * parseMemberList; undefined when the answer names none.
 */
export function leaderOf(json: string): string | undefined {
  const leader = /"leader":\s*(\d+)/.exec(json)?.[1];
  return leader === undefined || leader === '0' ? undefined : BigInt(leader).toString(16);
}

/**
 * Hands etcd's leadership from a member about to leave to `to`, when it
 * leads. Removing the leader itself makes the others elect a new one, and the
 * proposals they had forwarded to it are lost: an API server's write then
 * waits for etcd's request timeout (7 s) instead of an answer.
 */
export async function moveLeaderAway(engine: NodeExec, plan: ClusterPlan, leaving: NodePlan, to: NodePlan, toId: string): Promise<boolean> {
  const status = await tryEtcdctl(engine, plan, to, ['endpoint', 'status', '-w', 'json'], [to]);
  const leavingMember = memberOf(await listMembers(engine, plan, to, [to]), leaving);
  if (status.exitCode !== 0 || !leavingMember || leaderOf(status.stdout) !== leavingMember.id) return false;
  // move-leader is asked of the leader itself.
  await etcdctl(engine, plan, to, ['move-leader', toId], [leaving]);
  return true;
}

/** What joining and removing members need: the engine, the plan whose masters they are, and the command's deadline. */
export interface EtcdContext {
  engine: NodeExec;
  plan: ClusterPlan;
  deadline: Deadline;
}

/**
 * etcd's answer (ErrMemberNotLearner) to promoting a member that already
 * votes; a learner not caught up yet gets the same words and "which is in
 * sync with leader" (ErrLearnerNotReady).
 */
const ALREADY_A_VOTER = /can only promote a learner member\s*$/m;

/**
 * A booted master into etcd, through the members of `others` that answer:
 * a learner first (etcd's advice for a running cluster: it gets the data
 * without a vote, so a slow or failed start cannot cost the cluster its
 * quorum), then a voter once it has caught up. Looks first, so a join that
 * stopped part-way is finished: a member that is there already is not added
 * again (etcd says when one is a voter already).
 */
export async function joinEtcd(ctx: EtcdContext, master: NodePlan, others: readonly NodePlan[]): Promise<void> {
  const { engine, plan } = ctx;
  const health = await memberHealth(engine, plan, others);
  const members = health.filter((h) => h.problem === undefined).map((h) => h.master);
  const via = members[0];
  if (!via) throw new Error(`no etcd member answers (${unhealthyNamed(health)}): the cluster cannot take a new member now`);
  if (!memberOf(await listMembers(engine, plan, via, members), master)) {
    await etcdctl(engine, plan, via, ['member', 'add', master.name, `--peer-urls=${etcdPeerUrl(master)}`, '--learner'], members);
  }
  await startLoadedUnits(engine, master, [UNIT.etcd]);
  await waitUntil(
    `${master.name}'s etcd to catch up and become a voting member`,
    async () => {
      const member = memberOf(await listMembers(engine, plan, via, members), master);
      if (!member) return 'not a member';
      // etcd refuses to promote a learner that is not in sync with the leader yet: that refusal is the progress check.
      const promoted = await tryEtcdctl(engine, plan, via, ['member', 'promote', member.id], members);
      // "can only promote a learner member": an earlier promote went through though its answer was lost.
      return promoted.exitCode === 0 || ALREADY_A_VOTER.test(promoted.stderr) || promoted.stderr.trim().split('\n').pop() || 'not promoted';
    },
    { deadline: ctx.deadline, intervalMs: 250, onTimeout: () => journalTail(engine, master, UNIT.etcd) },
  );
  await waitForEtcdReady(ctx, master);
}

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
async function waitForEtcdReady(ctx: EtcdContext, master: NodePlan): Promise<void> {
  const ready = await waitForUnit(ctx.engine, master, UNIT.etcd, ctx.deadline, ETCD_PUBLISH_GRACE_MS).then(
    () => true,
    () => false,
  );
  if (ready) return;
  await execOrThrow(ctx.engine, master, ['systemctl', 'restart', UNIT.etcd]);
  await waitForUnit(ctx.engine, master, UNIT.etcd, ctx.deadline);
}

/**
 * `etcdctl member remove`, once etcd agrees. etcd refuses with "unhealthy
 * cluster" while any member that would remain has been connected to the
 * leader for less than 5 s (a master just restarted, say): that refusal is
 * waited out; any other is an error at once. A `leaving` member that leads
 * hands its leadership to `via` first (see moveLeaderAway).
 */
export async function removeMember(ctx: EtcdContext, via: NodePlan, members: readonly NodePlan[], id: string, leaving?: NodePlan): Promise<void> {
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
      // Removed already (an earlier attempt went through though its answer was lost): what was wanted.
      if (reason.includes('member not found')) return true;
      refusal = reason;
      return true;
    },
    { deadline: ctx.deadline, timeoutMs: 30_000, intervalMs: 500 },
  );
  if (refusal !== undefined) throw new Error(`etcd refused to remove member ${id} (asked on ${via.name}): ${refusal}`);
}

/**
 * Takes `master`'s member out of etcd, if it is one, through the other
 * masters that answer (its leadership handed over first when it runs and
 * leads). Returns the removed member's ID; undefined when it was none.
 */
export async function leaveEtcd(ctx: EtcdContext, master: NodePlan, others: readonly NodePlan[], running: boolean): Promise<string | undefined> {
  const health = await memberHealth(ctx.engine, ctx.plan, others);
  const healthy = health.filter((h) => h.problem === undefined).map((h) => h.master);
  const via = healthy[0];
  if (!via) throw new Error(`no other etcd member answers (${unhealthyNamed(health)}): removing ${master.name} from etcd now would lose the cluster's data`);
  const id = memberOf(await listMembers(ctx.engine, ctx.plan, via, healthy), master)?.id;
  if (id) await removeMember(ctx, via, healthy, id, running ? master : undefined);
  return id;
}
