import { releaseOf, supportedVersions } from '../../artifacts/manifest.js';
import { applyAddonResources, applyAddons } from '../kube/addons.js';
import { haproxySetServerCommand } from '../../components/haproxy.js';
import { joinBootBundle, runsKubeRouter } from '../../components/index.js';
import { nodeImageFor } from '../../config/defaults.js';
import { buildNodeImage, readyNodeImage, type NodeImageOptions } from '../../image/node-image.js';
import type { ClusterPlan, NodePlan } from '../../model/plan.js';
import { execOrThrow, type Provider } from '../../provider/provider.js';
import { saveState, type ClusterState, type UpgradeOperation } from '../../state/cluster-state.js';
import { withClusterLock } from '../../state/lock.js';
import { Deadline } from '../../util/deadline.js';
import { messageOf, UsageError } from '../../util/errors.js';
import type { Progress } from '../../util/progress.js';
import { hostApiOf, type ApiProbe } from '../kube/api.js';
import { waitForKubeRouter, waitForNodesReady } from '../kube/waits.js';
import { bootNode } from '../node/boot.js';
import { journalTail, waitForBoot } from '../node/units.js';
import { UNIT } from '../../components/units.js';
import { readCluster, requireNoUnfinishedChange, type ClusterNow } from '../ops/status.js';
import { joinMaster, type JoinContext, type StepFn } from './add-node.js';
import { healthyMasters, listMembers, memberOf, quorumAfterRemoval } from './etcd-membership.js';
import { kubectlVia } from './node-access.js';
import { drainWorker, removeMember, stopControlPlane } from './remove-node.js';
import { changeStep, NodeChangeError, UndoLog } from './undo.js';

export interface UpgradeOptions {
  engine: Provider;
  progress: Progress;
  cluster: string;
  kubernetesVersion: string;
  /** Seconds each node may take to come back (the image build, if any, does not count). */
  waitSeconds: number;
  apiProbe?: ApiProbe;
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
 * image, with the same name, address and certificates, one at a time:
 * masters first (out of HAProxy, out of etcd, replaced, back in etcd as a
 * learner that catches up, then a voter, then back in HAProxy: etcd keeps its
 * quorum and the API answers through the other masters), then workers
 * (drained, replaced with their containerd volume kept, Ready, uncordoned).
 * Then the add-ons (CoreDNS of the new release). The state records each node
 * done: a run that stops part-way says where, and running it again continues.
 */
export async function upgradeCluster(options: UpgradeOptions): Promise<UpgradeResult> {
  const target = releaseOf(options.kubernetesVersion);
  if (!target) throw new UsageError(`--kubernetes-version ${options.kubernetesVersion} is not one kc builds node images for: use one of ${supportedVersions()}`);
  return withClusterLock(options.cluster, async () => {
    const started = Date.now();
    const { engine, progress } = options;
    const cluster = await readCluster(engine, options.cluster);
    const operation = resumableUpgrade(cluster, target.kubernetes);
    const from = operation?.from ?? cluster.plan.spec.kubernetesVersion;
    if (!operation && from === target.kubernetes) return { from, to: from, nodeSeconds: {}, seconds: 0, alreadyThere: true };
    const problem = upgradeStepProblem(from, target.kubernetes);
    if (problem) throw new UsageError(problem);
    checkUpgradable(cluster, operation?.current);

    const image = nodeImageFor(target.kubernetes);
    await progress.step('Ensuring node image', async (note) => {
      const version = await readyNodeImage({ engine, progress, build: options.buildNodeImage ?? buildNodeImage, image, unlabelled: target.kubernetes }, note);
      if (version !== target.kubernetes) throw new Error(`node image ${image} runs Kubernetes ${version}, not ${target.kubernetes}: rebuild it with \`kc build node-image --kubernetes-version ${target.kubernetes}\``);
    });
    const next: ClusterPlan = {
      ...cluster.plan,
      spec: { ...cluster.plan.spec, nodeImage: image, kubernetesVersion: target.kubernetes },
      // A replaced master's etcd joins the running cluster (an `existing` member), as one kc create node adds.
      masters: cluster.plan.masters.map((master) => ({ ...master, joined: true })),
    };
    let state: ClusterState = {
      ...cluster.state,
      operation: operation ?? { kind: 'upgrade', startedAt: new Date().toISOString(), from, to: target.kubernetes, done: [] },
    };
    if (operation) progress.info(`Continuing the upgrade to ${operation.to} begun ${operation.startedAt} (${operation.done.length ? `done: ${operation.done.join(', ')}` : 'no node done yet'})`);
    await saveState(state);

    const nodeSeconds: Record<string, number> = {};
    const done = new Set(state.operation?.done ?? []);
    for (const node of [...next.masters, ...next.workers].filter((n) => !done.has(n.name))) {
      state = withUpgrade(state, { current: node.name });
      await saveState(state);
      const nodeStarted = Date.now();
      const ctx: JoinContext = {
        engine,
        plan: next,
        pki: state.pki,
        deadline: new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), `upgrading ${node.name}`),
        api: hostApiOf(state, options.apiProbe),
      };
      const present = (await readCluster(engine, options.cluster)).statusOf(node) === 'running';
      try {
        if (node.role === 'master') await upgradeMaster(ctx, progress, node, present, state.apiServerHostPort ?? 0);
        else await upgradeWorker(ctx, progress, node, present);
      } catch (error) {
        const again = `Run \`kc upgrade cluster --kubernetes-version ${target.kubernetes} --name ${options.cluster}\` again to continue from ${node.name}.`;
        throw new UpgradeStoppedError(error, whereNodesAre(next, done, node.name, from), again);
      }
      nodeSeconds[node.name] = (Date.now() - nodeStarted) / 1000;
      done.add(node.name);
      state = withUpgrade(state, { current: undefined, done: [...done] });
      await saveState(state);
    }

    await progress.step('Upgrading add-ons', async (note) => {
      const ctx = { engine, plan: next, pki: state.pki, deadline: new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'add-ons') };
      const via = next.masters[0] as NodePlan;
      const run = (args: string[], input?: string) => kubectlVia(ctx, via, args, input);
      await applyAddons(run, next);
      await applyAddonResources(run, next, ctx.deadline.remainingMs() / 1000);
      await kubectlVia(ctx, via, ['rollout', 'status', 'deployment/coredns', '-n', 'kube-system', `--timeout=${Math.max(1, Math.floor(ctx.deadline.remainingMs() / 1000))}s`]);
      note(`CoreDNS of ${target.kubernetes}`);
    });
    const { operation: _finished, ...rest } = state;
    await saveState({ ...rest, plan: next });
    return { from, to: target.kubernetes, nodeSeconds, seconds: (Date.now() - started) / 1000, alreadyThere: false };
  });
}

/** Pure: which node runs which version, for a stopped upgrade's message. */
export function whereNodesAre(plan: ClusterPlan, done: ReadonlySet<string>, current: string, from: string): string {
  const nodes = [...plan.masters, ...plan.workers];
  const upgraded = nodes.filter((n) => done.has(n.name)).map((n) => n.name);
  const waiting = nodes.filter((n) => !done.has(n.name) && n.name !== current).map((n) => n.name);
  return [
    upgraded.length > 0 ? `${upgraded.join(', ')} ${upgraded.length === 1 ? 'runs' : 'run'} ${plan.spec.kubernetesVersion}` : '',
    `${current} was being replaced`,
    waiting.length > 0 ? `${waiting.join(', ')} ${waiting.length === 1 ? 'runs' : 'run'} ${from}` : '',
  ].filter(Boolean).join('; ');
}

/** An upgrade that stopped at a node: the cause, where each node is, and the command that continues. */
export class UpgradeStoppedError extends Error {
  constructor(cause: unknown, where: string, again: string) {
    // A step's own error says what it took back; the upgrade keeps what it finished, so only the step and its cause are told.
    const failure = cause instanceof NodeChangeError ? `${cause.step} failed: ${messageOf(cause.cause)}` : messageOf(cause);
    super(`${failure}\nThe upgrade stopped: ${where}.\n${again}`, { cause });
    this.name = 'UpgradeStoppedError';
  }
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
        `finish it first with kc upgrade cluster --kubernetes-version ${operation.to} --name ${name}`,
    );
  }
  return operation;
}

/** Every node runs (but the one a stopped upgrade was replacing), and there is a master to keep etcd's quorum while one is replaced. */
function checkUpgradable(cluster: ClusterNow, current: string | undefined): void {
  const name = cluster.plan.spec.name;
  if (cluster.plan.masters.length < 2) {
    throw new UsageError(
      `cluster "${name}" has one master: replacing it would stop its API and lose etcd's only member. ` +
        `Add a master first (kc create node --role master --name ${name}), upgrade, then remove it if you like (kc delete node).`,
    );
  }
  const down = [...cluster.plan.masters, ...cluster.plan.workers, cluster.plan.lb].filter((n) => n.name !== current && cluster.statusOf(n) !== 'running');
  if (down.length > 0) {
    throw new UsageError(`cannot upgrade cluster "${name}" while ${down.map((n) => n.name).join(', ')} ${down.length === 1 ? 'is' : 'are'} not running: start it first (kc start cluster --name ${name})`);
  }
}

function withUpgrade(state: ClusterState, change: Partial<UpgradeOperation>): ClusterState {
  const operation = state.operation;
  if (operation?.kind !== 'upgrade') throw new Error('internal: no upgrade recorded');
  const updated: UpgradeOperation = { ...operation, ...change };
  if (updated.current === undefined) delete updated.current;
  return { ...state, operation: updated };
}

function stepsFor(progress: Progress, undo: UndoLog, again: string): StepFn {
  return (title, work) => changeStep(progress, undo, title, again, work);
}

/**
 * One master: drained in HAProxy, its control plane stopped, its etcd member
 * removed (one voter fewer: the others keep the quorum), its container
 * replaced by one of the new image, then joined again as kc create node
 * joins a master. A master whose container is already gone (a stopped run)
 * goes straight to the replacement.
 */
async function upgradeMaster(ctx: JoinContext, progress: Progress, master: NodePlan, present: boolean, apiServerHostPort: number): Promise<void> {
  const { engine, plan } = ctx;
  const again = `Run \`kc upgrade cluster --kubernetes-version ${plan.spec.kubernetesVersion} --name ${plan.spec.name}\` again to continue from ${master.name}.`;
  // Nothing is taken back on failure: a half-replaced master is finished by the next run, not restored.
  const step = stepsFor(progress, new UndoLog(), again);
  const others = plan.masters.filter((m) => m.name !== master.name);
  await step(`Taking ${master.name} out of HAProxy and etcd`, async (note) => {
    const healthy = await healthyMasters(engine, plan, others);
    const via = healthy[0];
    if (!via) throw new Error(`no other etcd member answers: replacing ${master.name} now would lose the cluster's data`);
    const members = await listMembers(engine, plan, via, healthy);
    const member = memberOf(members, master);
    const voters = members.filter((m) => !m.isLearner).length;
    if (member && quorumAfterRemoval(voters, healthy.length + (present ? 1 : 0), present).breaksQuorum) {
      throw new Error(`removing ${master.name}'s etcd member would break etcd's quorum (${healthy.length} other members answer): start the stopped masters first`);
    }
    if (present) {
      await execOrThrow(engine, plan.lb.name, haproxySetServerCommand(master.name, 'drain'));
      await stopControlPlane(ctx, master, via, new UndoLog());
    }
    if (member) await removeMember(ctx, via, healthy, member.id, present ? master : undefined);
    note(member ? `member ${member.id} removed, ${healthy.length} answering` : 'was no longer an etcd member');
  });
  const boot = joinBootBundle(plan, master, ctx.pki);
  await step(`Replacing ${master.name}`, async (note) => {
    await engine.removeNode(master.name);
    progress.detail(await bootNode(engine, plan, master, apiServerHostPort, boot));
    await waitForBoot(engine, master, ctx.deadline);
    note(plan.spec.nodeImage);
  });
  await joinMaster(ctx, plan, master, boot.startedLater, new UndoLog(), step);
}

/**
 * One worker: drained (evictions respect PodDisruptionBudgets), its
 * container replaced by one of the new image with the same containerd
 * volume (images loaded with kc load stay), Ready with a heartbeat from its
 * new kubelet, then uncordoned.
 */
async function upgradeWorker(ctx: JoinContext, progress: Progress, worker: NodePlan, present: boolean): Promise<void> {
  const { engine, plan } = ctx;
  const again = `Run \`kc upgrade cluster --kubernetes-version ${plan.spec.kubernetesVersion} --name ${plan.spec.name}\` again to continue from ${worker.name}.`;
  const step = stepsFor(progress, new UndoLog(), again);
  const via = plan.masters[0] as NodePlan;
  if (present) await drainWorker({ ...ctx, progress, force: false }, worker, via, new UndoLog(), again);
  let bootedAt = 0;
  await step(`Replacing ${worker.name}`, async (note) => {
    await engine.removeNode(worker.name);
    bootedAt = Date.now();
    progress.detail(await bootNode(engine, plan, worker, 0, joinBootBundle(plan, worker, ctx.pki)));
    await waitForBoot(engine, worker, ctx.deadline);
    note(`${plan.spec.nodeImage}, containerd's images kept`);
  });
  await step(`Waiting for ${worker.name} to be Ready`, async (note) => {
    await waitForNodesReady(ctx.api, [worker.name], ctx.deadline, {
      fresh: { started: new Set([worker.name]), since: bootedAt },
      onTimeout: () => journalTail(engine, worker, UNIT.kubelet),
    });
    if (runsKubeRouter(plan)) await waitForKubeRouter(ctx, [worker]);
    await kubectlVia(ctx, via, ['uncordon', worker.name]);
    note('uncordoned');
  });
}
