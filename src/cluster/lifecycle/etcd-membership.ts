import { etcdClientUrl, etcdctlCommand, etcdPeerUrl } from '../../components/etcd.js';
import type { ClusterPlan, NodePlan } from '../../model/plan.js';
import { execOrThrow, type ExecResult, type NodeExec } from '../../provider/provider.js';

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
  return execOrThrow(engine, via.name, etcdctlCommand(plan, args, members.map(etcdClientUrl).join(',')));
}

/** Like etcdctl, but a refusal is an answer (its exit code and message), not an error. */
export async function tryEtcdctl(engine: NodeExec, plan: ClusterPlan, via: NodePlan, args: string[], members: readonly NodePlan[]): Promise<ExecResult> {
  return engine.exec(via.name, etcdctlCommand(plan, args, members.map(etcdClientUrl).join(',')));
}

export async function listMembers(engine: NodeExec, plan: ClusterPlan, via: NodePlan, members: readonly NodePlan[]): Promise<EtcdMember[]> {
  return parseMemberList(await etcdctl(engine, plan, via, ['member', 'list', '-w', 'json'], members));
}

/** The masters whose etcd member answers a health check right now. */
export async function healthyMasters(engine: NodeExec, plan: ClusterPlan, masters: readonly NodePlan[]): Promise<NodePlan[]> {
  const answers = await Promise.all(
    masters.map(async (master) => {
      // A stopped master cannot even run the check: that is an unhealthy member too.
      const result = await engine
        .exec(master.name, etcdctlCommand(plan, ['endpoint', 'health', '--command-timeout=2s'], etcdClientUrl(master)))
        .catch(() => undefined);
      return result?.exitCode === 0 ? master : undefined;
    }),
  );
  return answers.filter((m): m is NodePlan => m !== undefined);
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
