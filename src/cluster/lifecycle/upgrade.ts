import { releaseOf, supportedVersions } from '../../artifacts/manifest.js';
import { nodeImageFor } from '../../config/defaults.js';
import { buildNodeImage, readyNodeImage, type NodeImageOptions } from '../../image/node-image.js';
import { allNodes, upgradedPlan, type ClusterPlan, type NodePlan } from '../../model/plan.js';
import type { Provider } from '../../provider/provider.js';
import { loadState, saveState, type ClusterState, type UpgradeOperation } from '../../state/cluster-state.js';
import { withClusterLock } from '../../state/lock.js';
import { Deadline } from '../../util/deadline.js';
import { messageOf, UsageError } from '../../util/errors.js';
import { isInterruption } from '../../util/interrupt.js';
import type { Progress } from '../../util/progress.js';
import { applyAddonResources, applyAddons } from '../kube/addons.js';
import type { ApiProbe } from '../kube/api.js';
import { readCluster, requireNoUnfinishedChange, type ClusterNow } from '../ops/status.js';
import { kubectlVia } from './moves/access.js';
import { planned, replaceNode, type MoveContext } from './moves/index.js';
import { ChangeStoppedError, runMoves, SettleError, settleJournal } from './runner.js';

export interface UpgradeOptions {
  engine: Provider;
  progress: Progress;
  cluster: string;
  kubernetesVersion: string;
  /** Seconds the whole upgrade may take, one deadline for every wait (a first build of the node image does not count). */
  waitSeconds: number;
  apiProbe?: ApiProbe;
  /** Ctrl-C: the upgrade stops at its next safe point. */
  signal?: AbortSignal | undefined;
  /** Builds a missing node image; the real build unless a test says otherwise. */
  buildNodeImage?: (options: NodeImageOptions) => Promise<unknown>;
}

export interface UpgradeResult {
  from: string;
  to: string;
  /** Seconds each node took, in the order they were upgraded (this run's only). */
  nodeSeconds: Record<string, number>;
  seconds: number;
  /** The cluster ran the version already: nothing was done. */
  alreadyThere: boolean;
}

/** "v1.36.3" → [1, 36, 3]. */
function versionParts(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version.replace(/^v/, '').split('.').map(Number);
  return [major, minor, patch];
}

/**
 * Pure: why kc will not upgrade `from` to `to`, if it will not. Kubernetes'
 * version-skew policy lets the control plane move one minor at a time, and
 * never back (etcd's data cannot go back either).
 */
export function upgradeStepProblem(from: string, to: string): string | undefined {
  const [, fromMinor, fromPatch] = versionParts(from);
  const [, toMinor, toPatch] = versionParts(to);
  if (toMinor < fromMinor || (toMinor === fromMinor && toPatch < fromPatch)) {
    return `${to} is older than the cluster's ${from}: kc does not downgrade (etcd's data and the API's stored objects only move forward); create a new cluster with --kubernetes-version ${to}`;
  }
  if (toMinor > fromMinor + 1) {
    const between = `v1.${fromMinor + 1}`;
    return `${from} to ${to} skips a minor version: Kubernetes upgrades one minor at a time (its version-skew policy); upgrade to ${between} first (kc upgrade cluster --kubernetes-version <${between}.x>)`;
  }
  return undefined;
}

/**
 * `kc upgrade cluster`: every node replaced by one of the new release's node
 * image (moves/replace.ts), with the same name, address, certificates,
 * volumes and host ports, one at a time: masters first (out of HAProxy, out
 * of etcd, replaced, back in etcd as a learner that catches up, then a
 * voter, then back in HAProxy: etcd keeps its quorum and the API answers
 * through the other masters), then workers (drained, replaced with their
 * containerd volume kept, Ready, uncordoned). Then the add-ons (CoreDNS of
 * the new release). The state records each node done and the journal the
 * one being replaced: a run that stops part-way says where, and running it
 * again (or `kc start cluster`, for the node being replaced) continues.
 */
export async function upgradeCluster(options: UpgradeOptions): Promise<UpgradeResult> {
  const target = releaseOf(options.kubernetesVersion);
  if (!target) throw new UsageError(`--kubernetes-version ${options.kubernetesVersion} is not one kc builds node images for: use one of ${supportedVersions()}`);
  return withClusterLock(options.cluster, async () => {
    const started = Date.now();
    const { engine, progress } = options;
    const to = target.kubernetes;
    const cluster = await readCluster(engine, options.cluster);
    const operation = resumableUpgrade(cluster, to);
    const from = operation?.from ?? cluster.plan.spec.kubernetesVersion;
    if (!operation && from === to) return { from, to: from, nodeSeconds: {}, seconds: 0, alreadyThere: true };
    const problem = upgradeStepProblem(from, to);
    if (problem) throw new UsageError(problem);
    checkUpgradable(cluster);

    const image = nodeImageFor(to);
    await progress.step('Ensuring node image', async (note) => {
      const version = await readyNodeImage({ engine, progress, build: options.buildNodeImage ?? buildNodeImage, image, unlabelled: to }, note);
      if (version !== to) throw new Error(`node image ${image} runs Kubernetes ${version}, not ${to}: rebuild it with \`kc build node-image --kubernetes-version ${to}\``);
    });
    // One deadline for the whole upgrade, from when the image is ready (as create counts --wait).
    const deadline = new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'upgrade', options.signal);
    const ctx: MoveContext = { engine, progress, deadline, apiProbe: options.apiProbe };
    const command = upgradeCommand(options.cluster, to);
    let state: ClusterState = { ...cluster.state, operation: operation ?? { kind: 'upgrade', startedAt: new Date().toISOString(), from, to, done: [] } };
    if (operation) progress.info(`Continuing the upgrade to ${operation.to} begun ${operation.startedAt} (${operation.done.length ? `done: ${operation.done.join(', ')}` : 'no node done yet'})`);
    await saveState(state);

    const nodeSeconds: Record<string, number> = {};
    try {
      const settling = Date.now();
      const settled = await settleJournal(ctx, state);
      state = settled.state;
      if (settled.settled?.record.kind === 'replace') nodeSeconds[settled.settled.subject] = (Date.now() - settling) / 1000;
      const done = new Set(upgradeOf(state).done);
      const startedAt = new Map<string, number>();
      const moves = [...state.plan.masters, ...state.plan.workers]
        .filter((node) => !done.has(node.name))
        .map((node) => ({
          subject: node.name,
          make: async () => {
            startedAt.set(node.name, Date.now());
            // The old container's host ports, read before it goes: the new one publishes the same.
            return planned(replaceNode, { kind: 'replace', node, image, kubernetesVersion: to, ports: await engine.publishedPorts(node), step: 0, stepDone: false });
          },
        }));
      state = await runMoves({ ...ctx, command }, state, moves, { past: 'upgraded', retry: () => command });
      const ended = [...startedAt.values()].slice(1).concat(Date.now());
      [...startedAt].forEach(([node, at], i) => (nodeSeconds[node] = ((ended[i] ?? at) - at) / 1000));
    } catch (error) {
      throw await upgradeStopped(error, options.cluster, from, command);
    }

    const next = upgradedPlan(state.plan, to, image);
    try {
      await progress.step('Upgrading add-ons', async (note) => {
        const via = next.masters[0] as NodePlan;
        const access = { engine, plan: next, pki: state.pki, deadline };
        const run = (args: string[], input?: string) => kubectlVia(access, via, args, input);
        await applyAddons(run, next);
        await applyAddonResources(run, next, deadline.remainingMs() / 1000);
        await run(['rollout', 'status', 'deployment/coredns', '-n', 'kube-system', `--timeout=${Math.max(1, Math.floor(deadline.remainingMs() / 1000))}s`]);
        note(`CoreDNS of ${to}`);
      });
    } catch (error) {
      throw await upgradeStopped(new ChangeStoppedError('Upgrading add-ons', error, [], options.cluster, { past: 'upgraded', retry: () => command }), options.cluster, from, command);
    }
    const { operation: _finished, ...rest } = state;
    await saveState({ ...rest, plan: next });
    return { from, to, nodeSeconds, seconds: (Date.now() - started) / 1000, alreadyThere: false };
  });
}

/** The command that continues an upgrade, as the user types it. */
function upgradeCommand(cluster: string, to: string): string {
  return `kc upgrade cluster --kubernetes-version ${to} --name ${cluster}`;
}

function upgradeOf(state: ClusterState): UpgradeOperation {
  if (state.operation?.kind !== 'upgrade') throw new Error('internal: no upgrade recorded');
  return state.operation;
}

/** Pure: which node runs which version, for a stopped upgrade's message. */
export function whereNodesAre(plan: ClusterPlan, done: ReadonlySet<string>, current: string | undefined, from: string, to: string): string {
  const nodes = [...plan.masters, ...plan.workers];
  const upgraded = nodes.filter((n) => done.has(n.name)).map((n) => n.name);
  const waiting = nodes.filter((n) => !done.has(n.name) && n.name !== current).map((n) => n.name);
  return [
    upgraded.length > 0 ? `${upgraded.join(', ')} ${upgraded.length === 1 ? 'runs' : 'run'} ${to}` : '',
    current ? `${current} was being replaced` : '',
    waiting.length > 0 ? `${waiting.join(', ')} ${waiting.length === 1 ? 'runs' : 'run'} ${from}` : '',
  ].filter(Boolean).join('; ');
}

/** An upgrade that stopped at a node: the cause, where each node is (as the state recorded it), and the command that continues. */
export class UpgradeStoppedError extends Error {
  constructor(cause: unknown, where: string, again: string) {
    super(`${UpgradeStoppedError.failure(cause)}\nThe upgrade stopped: ${where}.\n${again}`, { cause });
    this.name = 'UpgradeStoppedError';
  }

  /** A step's own failure and its cause: the upgrade keeps what it finished, so nothing is said to be taken back. */
  private static failure(cause: unknown): string {
    if (cause instanceof ChangeStoppedError && cause.step !== undefined) {
      return cause.interrupted ? `Interrupted during "${cause.step}": kc stopped at a safe point.` : `${cause.step} failed: ${messageOf(cause.cause)}`;
    }
    if (cause instanceof SettleError) return messageOf(cause).split('\n')[0] ?? '';
    return isInterruption(cause) ? 'Interrupted: kc stopped at a safe point.' : messageOf(cause);
  }
}

async function upgradeStopped(error: unknown, cluster: string, from: string, command: string): Promise<Error> {
  const state = await loadState(cluster);
  const operation = state?.operation;
  if (!state || operation?.kind !== 'upgrade') return error instanceof Error ? error : new Error(String(error));
  const current = state.journal?.move.kind === 'replace' ? state.journal.move.node.name : undefined;
  const next = allNodes(state.plan).find((n) => n.role !== 'lb' && !operation.done.includes(n.name))?.name;
  const done = new Set(operation.done);
  const nodesDone = [...state.plan.masters, ...state.plan.workers].every((n) => done.has(n.name));
  const where = `${whereNodesAre(state.plan, done, current, from, operation.to)}${nodesDone ? '; the add-ons are not upgraded yet' : ''}`;
  return new UpgradeStoppedError(error, where, `Run \`${command}\` again to continue from ${current ?? next ?? 'the add-ons'}.`);
}

/** The upgrade this run continues, if one stopped part-way; refuses a run that would start another change over it. */
function resumableUpgrade(cluster: ClusterNow, to: string): UpgradeOperation | undefined {
  requireNoUnfinishedChange(cluster, 'upgrade', 'upgrade');
  const operation = cluster.state.operation;
  const name = cluster.plan.spec.name;
  if (operation?.kind !== 'upgrade') return undefined;
  if (operation.to !== to) {
    throw new UsageError(
      `cluster "${name}" is part-way through an upgrade to ${operation.to} (done: ${operation.done.join(', ') || 'none'}): ` +
        `finish it first with ${upgradeCommand(name, operation.to)}`,
    );
  }
  return operation;
}

/** Every node runs (but the one a stopped upgrade was replacing), and there is a master to keep etcd's quorum while one is replaced. */
function checkUpgradable(cluster: ClusterNow): void {
  const name = cluster.plan.spec.name;
  if (cluster.plan.masters.length < 2) {
    throw new UsageError(
      `cluster "${name}" has one master: replacing it would stop its API and lose etcd's only member. ` +
        `Add a master first (kc create node --role master --name ${name}), upgrade, then remove it if you like (kc delete node).`,
    );
  }
  const journal = cluster.state.journal?.move;
  const moving = journal && journal.kind !== 'restore' ? journal.node.name : undefined;
  const down = allNodes(cluster.plan).filter((n) => n.name !== moving && cluster.statusOf(n) !== 'running');
  if (down.length > 0) {
    throw new UsageError(`cannot upgrade cluster "${name}" while ${down.map((n) => n.name).join(', ')} ${down.length === 1 ? 'is' : 'are'} not running: start it first (kc start cluster --name ${name})`);
  }
}
