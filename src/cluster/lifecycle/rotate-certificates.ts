import { addonNamespaces } from '../../components/addons.js';
import { bootBundle, runsKubeRouter } from '../../components/index.js';
import { haproxySetServerCommand } from '../../components/haproxy.js';
import { UNIT } from '../../components/units.js';
import type { ClusterPlan, NodePlan } from '../../model/plan.js';
import { CA_ROTATION_PHASES, signedWithNextCa, trustedCaPem, withNextCa, withoutPreviousCa, type CaRotationPhase } from '../../pki/ca-rotation.js';
import { renewLeafCertificates } from '../../pki/cluster-pki.js';
import { parseCertificate } from '../../pki/certs.js';
import { certificateInventory } from '../../pki/inventory.js';
import type { ClusterPki } from '../../pki/types.js';
import { execOrThrow, type Provider } from '../../provider/provider.js';
import { loadState, saveState, type ClusterState, type RotationOperation } from '../../state/cluster-state.js';
import { mergeIntoKubeconfigFile } from '../../state/kubeconfig-file.js';
import { withClusterLock } from '../../state/lock.js';
import { Deadline } from '../../util/deadline.js';
import { messageOf, UsageError } from '../../util/errors.js';
import { isInterruption, stopIfInterrupted } from '../../util/interrupt.js';
import type { Progress } from '../../util/progress.js';
import { counted } from '../../util/words.js';
import { restartAddonPods } from '../kube/addons.js';
import { hostApiOf, type ApiProbe, type HostApi } from '../kube/api.js';
import { waitForEtcd, waitForNodesReady, waitForRootCaPublished } from '../kube/waits.js';
import { deliverFiles } from '../node/units.js';
import { adminEntry } from '../ops/kubeconfig.js';
import { readCluster, requireNoUnfinishedChange, requireRunning } from '../ops/status.js';
import { kubectlVia, waitForHaproxyBackends, waitForOwnApiServer, type ChangeContext } from './moves/access.js';
import { listMembers, memberOf, moveLeaderAway } from './moves/etcd.js';
import { settleJournal } from './runner.js';

export interface RotateOptions {
  engine: Provider;
  progress: Progress;
  cluster: string;
  /** A new CA as well, rolled out in three phases (see pki/ca-rotation.ts). */
  ca: boolean;
  waitSeconds: number;
  apiProbe?: ApiProbe;
  /** Ctrl-C: the rotation stops at its next safe point (between nodes, or in a wait). */
  signal?: AbortSignal | undefined;
}

export interface RotateResult {
  certificates: number;
  seconds: number;
  /** With --ca: the subject of the CA that signs now. */
  ca?: string;
  /** With --ca: the add-on workloads restarted to trust the new CA (`namespace/name`). */
  restarted: string[];
}

/** What uses a master's certificates besides etcd (which reads its certificate files at every new connection). */
const MASTER_UNITS = [UNIT.apiServer, UNIT.controllerManager, UNIT.scheduler, UNIT.kubeProxy];

/** One rollout over every node: the PKI it delivers, and what must restart to read it. */
interface Rollout {
  /** Absent for a rotation of the leaves only. */
  caPhase?: CaRotationPhase;
  /** The step that makes the rollout's PKI, and the note it ends with. */
  title: string;
  makePki: (pki: ClusterPki, plan: ClusterPlan) => Promise<ClusterPki>;
  describe: (pki: ClusterPki) => string;
  nodeTitle: (node: string) => string;
  /** The trusted CAs change: etcd reads them only at start, and so do most of the add-ons' API clients. */
  changesTrust: boolean;
}

const subjectOf = (pem: string) => parseCertificate(pem).subject.commonName ?? '';

const LEAF_ROLLOUT: Rollout = {
  title: 'Issuing new certificates',
  makePki: renewLeafCertificates,
  describe: (pki) => `signed by ${subjectOf(pki.ca.certPem)}`,
  nodeTitle: (node) => `Rotating ${node}`,
  changesTrust: false,
};

const CA_ROLLOUTS: Record<CaRotationPhase, Rollout> = {
  'trust-both': {
    caPhase: 'trust-both',
    title: 'Making a new CA',
    makePki: withNextCa,
    describe: (pki) => `${subjectOf(pki.overlapCa?.certPem ?? pki.ca.certPem)}, trusted beside ${subjectOf(pki.ca.certPem)}; nothing signed by it yet`,
    nodeTitle: (node) => `Trusting both CAs on ${node}`,
    changesTrust: true,
  },
  'sign-with-next': {
    caPhase: 'sign-with-next',
    title: 'Issuing every certificate from the new CA',
    makePki: signedWithNextCa,
    describe: (pki) => `signed by ${subjectOf(pki.ca.certPem)}; ${subjectOf(pki.overlapCa?.certPem ?? pki.ca.certPem)} still trusted`,
    nodeTitle: (node) => `New certificates on ${node}`,
    changesTrust: false,
  },
  'drop-previous': {
    caPhase: 'drop-previous',
    title: 'Retiring the previous CA',
    makePki: (pki) => Promise.resolve(withoutPreviousCa(pki)),
    describe: (pki) => `only ${subjectOf(pki.ca.certPem)} is trusted`,
    nodeTitle: (node) => `Dropping the previous CA on ${node}`,
    changesTrust: true,
  },
};

/**
 * `kc rotate certificates`: every leaf certificate issued again by the
 * cluster's CA, recorded in the state first, then rolled out one node at a
 * time with the API answering through the lb throughout: a master is
 * drained from HAProxy, gets its files, restarts its API server and
 * controllers, and is taken back once its API server is ready; then each
 * worker's kubelet, kube-proxy and kube-router restart on the new files.
 * Old and new certificates share the CA, so a rotation that stops part-way
 * leaves a working cluster; the state records which nodes have their new
 * files, and running it again continues with the rest.
 *
 * With `ca`, the same rollout three times, once per phase of a CA rotation
 * (trust both, sign with the new, drop the old: pki/ca-rotation.ts), each
 * recorded before it starts; after each change of the trusted CAs, etcd
 * restarts with each master and the add-ons' pods are restarted once the
 * new bundle is published to them. At every moment any two components
 * trust each other's certificates.
 */
export async function rotateCertificates(options: RotateOptions): Promise<RotateResult> {
  return withClusterLock(options.cluster, async () => {
    const started = Date.now();
    const cluster = await readCluster(options.engine, options.cluster);
    requireRunning(cluster, 'rotate certificates');
    requireNoUnfinishedChange(cluster, 'rotate certificates', 'rotate-certificates');
    const resumed = cluster.state.operation?.kind === 'rotate-certificates' ? cluster.state.operation : undefined;
    if (resumed && (resumed.caPhase !== undefined) !== options.ca) throw new UsageError(resumeMismatch(options.cluster, resumed));
    const deadline = new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'rotation', options.signal);
    // A node change that stopped part-way is settled before new certificates go out: the rollout covers the plan's nodes.
    let { state } = await settleJournal({ engine: options.engine, progress: options.progress, deadline, apiProbe: options.apiProbe }, cluster.state);
    const restarted: string[] = [];
    const rollouts = options.ca ? CA_ROTATION_PHASES.slice(resumed?.caPhase ? CA_ROTATION_PHASES.indexOf(resumed.caPhase) : 0).map((phase) => CA_ROLLOUTS[phase]) : [LEAF_ROLLOUT];
    try {
      for (const [index, rollout] of rollouts.entries()) {
        const result = await rollOut(options, deadline, state, rollout, index === 0 ? resumed : undefined);
        state = result.state;
        restarted.push(...result.restarted);
      }
      const { operation: _finished, ...finished } = state;
      await saveState(finished);
    } catch (error) {
      throw await rotationStopped(error, options);
    }
    return {
      certificates: certificateInventory(state.plan, state.pki).length,
      seconds: (Date.now() - started) / 1000,
      ...(options.ca ? { ca: subjectOf(state.pki.ca.certPem) } : {}),
      restarted: [...new Set(restarted)],
    };
  });
}

/**
 * A rotation that stopped: its cause and, as the state recorded it, which
 * nodes have their new certificates and which not yet, and the command that
 * continues it. A rotation that recorded nothing changed nothing.
 */
async function rotationStopped(cause: unknown, options: RotateOptions): Promise<Error> {
  const state = await loadState(options.cluster).catch(() => undefined);
  const operation = state?.operation?.kind === 'rotate-certificates' ? state.operation : undefined;
  if (!state || !operation) return cause instanceof Error ? cause : new Error(String(cause));
  const nodes = [...state.plan.masters, ...state.plan.workers].map((n) => n.name);
  const done = nodes.filter((n) => operation.done.includes(n));
  const notYet = nodes.filter((n) => !operation.done.includes(n));
  const first = isInterruption(cause) ? `${messageOf(cause).replace(/^./, (c) => c.toUpperCase())}: kc stopped at a safe point.` : messageOf(cause);
  const phase = operation.caPhase ? ` in phase ${operation.caPhase} of the CA rotation` : '';
  const where = [
    done.length > 0 ? `${done.join(', ')} ${done.length === 1 ? 'has' : 'have'} the new certificates` : '',
    notYet.length > 0 ? `${notYet.join(', ')} ${notYet.length === 1 ? 'does' : 'do'} not yet` : 'the add-ons were being restarted',
  ].filter(Boolean).join('; ');
  // Old and new certificates share a CA (or, with --ca, both CAs are trusted): the cluster works meanwhile.
  const again = `kc rotate certificates${operation.caPhase ? ' --ca' : ''} --name ${options.cluster}`;
  return new Error(`${first}\nThe rotation stopped${phase}: ${where}.\nRun \`${again}\` to continue it (the cluster works meanwhile).`, { cause });
}

function resumeMismatch(cluster: string, resumed: RotationOperation): string {
  return resumed.caPhase
    ? `a CA rotation of cluster "${cluster}" stopped part-way (phase ${resumed.caPhase}): continue it with \`kc rotate certificates --ca --name ${cluster}\` before anything else`
    : `a rotation of the certificates of cluster "${cluster}" stopped part-way: finish it with \`kc rotate certificates --name ${cluster}\`, then run --ca`;
}

/**
 * One rollout: its PKI made and recorded (unless a stopped run made it
 * already), the user's kubeconfig files updated, then every node not yet
 * done, masters first; then, if the trusted CAs changed, the add-ons' pods.
 */
async function rollOut(
  options: RotateOptions,
  deadline: Deadline,
  from: ClusterState,
  rollout: Rollout,
  resumed: RotationOperation | undefined,
): Promise<{ state: ClusterState; restarted: string[] }> {
  const { engine, progress } = options;
  let state = from;
  if (resumed) {
    progress.info(`Continuing the rotation begun ${resumed.startedAt}${resumed.caPhase ? ` in phase ${resumed.caPhase}` : ''} (${resumed.done.length ? `done: ${resumed.done.join(', ')}` : 'no node done yet'})`);
    // The run that stopped may have recorded the certificates without reaching the kubeconfig files: merged again, which changes nothing where it did.
    await mergeAdminEntry(state);
  } else {
    state = await progress.step(rollout.title, async (note) => {
      const operation: RotationOperation = { kind: 'rotate-certificates', startedAt: new Date().toISOString(), done: [], ...(rollout.caPhase ? { caPhase: rollout.caPhase } : {}) };
      const next: ClusterState = { ...state, pki: await rollout.makePki(state.pki, state.plan), operation };
      // The state first: should the rollout stop, the next run delivers the certificates kc has, not new ones.
      await saveState(next);
      await mergeAdminEntry(next);
      note(`${rollout.describe(next.pki)}; admin kubeconfig updated in ${counted(next.kubeconfigPaths.length, 'file')}`);
      return next;
    });
  }
  const ctx: ChangeContext = { engine, plan: state.plan, pki: state.pki, deadline };
  const api = hostApiOf(state, options.apiProbe);
  const done = new Set(state.operation?.done ?? []);
  for (const node of [...state.plan.masters, ...state.plan.workers].filter((n) => !done.has(n.name))) {
    // Between nodes: a safe point (each node done is recorded).
    stopIfInterrupted(deadline.signal);
    await progress.step(rollout.nodeTitle(node.name), () => (node.role === 'master' ? rotateMaster(ctx, node, rollout.changesTrust) : rotateWorker(ctx, api, node)));
    done.add(node.name);
    state = { ...state, operation: { ...(state.operation as RotationOperation), done: [...done] } };
    await saveState(state);
  }
  const restarted = rollout.changesTrust ? await restartAddons(ctx, api, progress) : [];
  return { state, restarted };
}

/** The admin context, with the state's certificates, in every kubeconfig file kc wrote it to. */
async function mergeAdminEntry(state: ClusterState): Promise<void> {
  for (const path of state.kubeconfigPaths) await mergeIntoKubeconfigFile(path, adminEntry(state, false));
}

/**
 * The add-ons' pods read the CA bundle (their service account's ca.crt) once,
 * at start: once the controller-manager has published the masters' new
 * bundle as kube-root-ca.crt, they are restarted to read it.
 */
async function restartAddons(ctx: ChangeContext, api: HostApi, progress: Progress): Promise<string[]> {
  const via = ctx.plan.masters[0];
  if (!via) throw new Error('internal: no masters');
  return progress.step("Restarting the add-ons' pods on the new CA bundle", async (note) => {
    await waitForRootCaPublished(api, addonNamespaces(ctx.plan), trustedCaPem(ctx.pki), ctx.deadline);
    const restarted = await restartAddonPods((args, input) => kubectlVia(ctx, via, args, input), ctx.plan, ctx.deadline.remainingMs() / 1000);
    note(restarted.join(', ') || 'none');
    return restarted;
  });
}

/** One worker: new files, kubelet, kube-proxy and kube-router restarted, its Ready heartbeat from after the restart. */
async function rotateWorker(ctx: ChangeContext, api: HostApi, worker: NodePlan): Promise<void> {
  const { engine, plan, deadline } = ctx;
  await deliverFiles(engine, worker, { files: bootBundle(plan, worker, ctx.pki).files, units: [] });
  const restartedAt = Date.now();
  const units = [UNIT.kubelet, UNIT.kubeProxy, ...(runsKubeRouter(plan) ? [UNIT.kubeRouter] : [])];
  await execOrThrow(engine, worker, ['systemctl', 'restart', ...units]);
  await waitForNodesReady(api, [worker.name], deadline, { fresh: { started: new Set([worker.name]), since: restartedAt } });
}

/**
 * One master: out of HAProxy, new files, its control plane restarted and
 * ready, back in HAProxy. A cluster's only master is not drained (there is
 * no other to send connections to): its API is away while it restarts.
 * `restartEtcd` when the trusted CAs changed (see restartEtcdMember).
 */
async function rotateMaster(ctx: ChangeContext, master: NodePlan, restartEtcd: boolean): Promise<void> {
  const { engine, plan } = ctx;
  const drains = plan.masters.length > 1;
  if (drains) await execOrThrow(engine, plan.lb, haproxySetServerCommand(master.name, 'drain'));
  try {
    await deliverFiles(engine, master, { files: bootBundle(plan, master, ctx.pki).files, units: [] });
    if (restartEtcd) {
      // The API server first: etcd, stopping, waits 7 s for the watches of its clients to end.
      await execOrThrow(engine, master, ['systemctl', 'stop', UNIT.apiServer]);
      await restartEtcdMember(ctx, master);
    }
    await execOrThrow(engine, master, ['systemctl', 'restart', ...MASTER_UNITS]);
    // Its own API server: the lb sends it nothing while it is drained.
    await waitForOwnApiServer(ctx, master);
  } finally {
    if (drains) await execOrThrow(engine, plan.lb, haproxySetServerCommand(master.name, 'ready'));
  }
  await waitForHaproxyBackends(ctx);
}

/**
 * etcd loads its trusted CAs only at start (its certificate files it reads
 * at every connection): a member restarts to take a new bundle. A leading
 * member hands its leadership to another first, so the restart is a
 * follower's absence of about a second, which the others wait out (with two
 * members there is no quorum meanwhile: requests wait, they do not fail),
 * rather than an election.
 */
async function restartEtcdMember(ctx: ChangeContext, master: NodePlan): Promise<void> {
  const { engine, plan } = ctx;
  const other = plan.masters.find((m) => m.name !== master.name);
  if (other) {
    const otherId = memberOf(await listMembers(engine, plan, other, [other]), other)?.id;
    if (otherId) await moveLeaderAway(engine, plan, master, other, otherId);
  }
  await execOrThrow(engine, master, ['systemctl', 'restart', UNIT.etcd]);
  await waitForEtcd(ctx);
}
