import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { releaseOf, supportedVersions } from '../artifacts/manifest.js';
import { DEFAULT_REGISTRY_PORT, NO_ADDONS, nodeImageFor } from '../config/defaults.js';
import type { ClusterPlan, NodePlan } from '../model/plan.js';
import { CA_ROTATION_PHASES, type CaRotationPhase } from '../pki/ca-rotation.js';
import type { ClusterPki } from '../pki/types.js';
import type { PublishedPort } from '../provider/provider.js';
import { stateDir } from '../util/paths.js';

/**
 * What kc keeps about a cluster between commands: enough to export
 * kubeconfigs and delete it. It holds every private key of the cluster.
 * Versioned: an older kc's file is migrated when read, a newer kc's refused.
 * Version 3 added the journal: an older kc must not change a cluster whose
 * change it cannot see.
 */
export const STATE_SCHEMA_VERSION = 3;

export interface ClusterState {
  schemaVersion: typeof STATE_SCHEMA_VERSION;
  plan: ClusterPlan;
  pki: ClusterPki;
  /** Host port the API server is published on. */
  apiServerHostPort?: number;
  /** Every kubeconfig file kc merged the admin context into, so delete can remove it from all of them. */
  kubeconfigPaths: string[];
  createdAt: string;
  /**
   * A change that rolls out node by node and stopped part-way: the next run
   * of the same command continues from it.
   */
  operation?: Operation;
  /**
   * A membership move under way (a node joining, leaving or being replaced,
   * the etcd data of every master being restored), written before each of
   * its steps and after: a kc stopped in the middle (Ctrl-C, a crash, a
   * failure it could not take back) leaves it here, and the next command on
   * the cluster settles it first, finishing or taking back the move.
   */
  journal?: Journal;
  /**
   * When a delete began: written before it removes anything, so a delete
   * that stops part-way leaves a state that says so (its nodes may be gone),
   * and every command but `kc delete cluster` refuses the cluster.
   */
  deleting?: string;
}

/** A move under way, and the command that began it, as the user would type it again. */
export interface Journal {
  command: string;
  startedAt: string;
  move: MoveRecord;
}

export type MoveRecord = JoinRecord | LeaveRecord | ReplaceRecord | RestoreRecord;

/** How far a move got: the step begun last (its index in the move) and whether it ended. */
export interface MoveProgress {
  step: number;
  stepDone: boolean;
}

/** A master or worker joining: not in the plan until the move is done; its certificates are in the state's PKI meanwhile. */
export interface JoinRecord extends MoveProgress {
  kind: 'join';
  node: NodePlan;
}

/** A master or worker leaving: in the plan until the move is done. */
export interface LeaveRecord extends MoveProgress {
  kind: 'leave';
  node: NodePlan;
  /** Drain with --force (pods no controller recreates are deleted). */
  force: boolean;
}

/**
 * A node's container replaced by one of another release (an upgrade), with
 * its name, address, volumes, engine and published host ports kept.
 */
export interface ReplaceRecord extends MoveProgress {
  kind: 'replace';
  node: NodePlan;
  image: string;
  kubernetesVersion: string;
  /** The host ports the old container published, read before it went (undefined: a record from before kc kept them). */
  ports?: PublishedPort[];
  /** When the new container was created: a Ready from before then is the old kubelet's. */
  bootedAt?: string;
}

/** A snapshot restore on every master; each master's data from before is set aside under `token`. */
export interface RestoreRecord extends MoveProgress {
  kind: 'restore';
  token: string;
  /** etcd's revision in the snapshot, for messages. */
  revision: number;
}

export type Operation = RotationOperation | UpgradeOperation;

/** A certificate rotation under way: the new certificates are in `pki`; `done` lists the nodes that have them. */
export interface RotationOperation {
  kind: 'rotate-certificates';
  startedAt: string;
  done: string[];
  /** A CA rotation's (`--ca`) phase, whose PKI is in `pki`; absent for a rotation of the leaves only. */
  caPhase?: CaRotationPhase;
}

/**
 * An upgrade under way: `done` lists the nodes that run `to` (the plan still
 * says `from` until every node does); the node being replaced is the
 * journal's move.
 */
export interface UpgradeOperation {
  kind: 'upgrade';
  startedAt: string;
  from: string;
  to: string;
  done: string[];
}

/** Pure: whether a state file's `operation` is one this kc can continue. */
export function isKnownOperation(value: unknown): value is Operation {
  if (!isRecord(value) || typeof value.startedAt !== 'string') return false;
  if (!Array.isArray(value.done) || !value.done.every((n) => typeof n === 'string')) return false;
  if (value.kind === 'rotate-certificates') return value.caPhase === undefined || (CA_ROTATION_PHASES as readonly unknown[]).includes(value.caPhase);
  return value.kind === 'upgrade' && typeof value.from === 'string' && typeof value.to === 'string';
}

function isNodePlan(value: unknown): value is NodePlan {
  return isRecord(value) && typeof value.name === 'string' && typeof value.ip === 'string' && typeof value.index === 'number' && ['master', 'worker'].includes(value.role as string);
}

/** Pure: whether a state file's `journal` is one this kc can settle. */
export function isKnownJournal(value: unknown): value is Journal {
  if (!isRecord(value) || typeof value.command !== 'string' || typeof value.startedAt !== 'string') return false;
  const move = value.move;
  if (!isRecord(move) || typeof move.step !== 'number' || typeof move.stepDone !== 'boolean') return false;
  if (move.kind === 'join') return isNodePlan(move.node);
  if (move.kind === 'leave') return isNodePlan(move.node) && typeof move.force === 'boolean';
  if (move.kind === 'replace') return isNodePlan(move.node) && typeof move.image === 'string' && typeof move.kubernetesVersion === 'string' && (move.ports === undefined || Array.isArray(move.ports));
  return move.kind === 'restore' && typeof move.token === 'string' && typeof move.revision === 'number';
}

/** A state file kc cannot use: names the file, what is wrong and how to get past it. */
export class StateFileError extends Error {
  constructor(
    readonly file: string,
    readonly cluster: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(
      `kc's state of cluster "${cluster}" in ${file} ${problem}. ` +
        `If you have a backup, put it back; otherwise \`kc delete cluster --name ${cluster}\` removes the cluster's containers, ` +
        'network and this file (its kubeconfig context stays in files kc no longer knows of: remove it with `kubectl config delete-context`).',
      options,
    );
    this.name = 'StateFileError';
  }
}

export function clusterStateDir(name: string): string {
  return join(stateDir(), 'clusters', name);
}

export function clusterStateFile(name: string): string {
  return join(clusterStateDir(name), 'cluster.json');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The only Kubernetes version kc ran before clusters recorded theirs. */
const VERSION_BEFORE_RELEASES = 'v1.37.2';

/** Version 1 (kc 0.1): no schemaVersion, and one `kubeconfigPath`, the last file the context was written to. */
function migrateFromV1(v1: Record<string, unknown>): Record<string, unknown> {
  const { kubeconfigPath, ...rest } = v1;
  return { ...rest, schemaVersion: 2, kubeconfigPaths: typeof kubeconfigPath === 'string' ? [kubeconfigPath] : [] };
}

/**
 * Version 2: no journal. An upgrade that stopped part-way named the node it
 * was replacing in `operation.current`: that is now the journal's replace
 * move, from its first step (each of them looks before it acts).
 */
function migrateFromV2(v2: Record<string, unknown>): Record<string, unknown> {
  const operation = v2.operation;
  if (!isRecord(operation) || operation.kind !== 'upgrade' || typeof operation.current !== 'string') return { ...v2, schemaVersion: 3 };
  const { current, ...upgrade } = operation;
  const plan = v2.plan as { masters?: unknown[]; workers?: unknown[]; spec?: { name?: string } } | undefined;
  const node = [...(plan?.masters ?? []), ...(plan?.workers ?? [])].find((n) => isRecord(n) && n.name === current);
  if (!node) return { ...v2, schemaVersion: 3, operation: upgrade };
  const to = String(upgrade.to);
  const move = { kind: 'replace', node, image: nodeImageFor(to), kubernetesVersion: to, step: 0, stepDone: false };
  const command = `kc upgrade cluster --kubernetes-version ${to} --name ${plan?.spec?.name ?? ''}`;
  return { ...v2, schemaVersion: 3, operation: upgrade, journal: { command, startedAt: String(upgrade.startedAt), move } };
}

/**
 * A state file's parsed JSON as the current schema: older versions migrated
 * step by step, anything else refused with a reason (never a silent default).
 * Pure, so every migration is unit-tested.
 */
export function migrateState(raw: unknown, file: string, cluster: string): ClusterState {
  if (!isRecord(raw)) throw new StateFileError(file, cluster, 'is not a JSON object');
  let state = raw;
  const version = state.schemaVersion ?? 1;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new StateFileError(file, cluster, `has an invalid schemaVersion ${JSON.stringify(version)}`);
  }
  if (version > STATE_SCHEMA_VERSION) {
    throw new StateFileError(file, cluster, `was written by a newer kc (schema ${version}; this kc reads up to ${STATE_SCHEMA_VERSION}): use that kc, or upgrade this one`);
  }
  if (version === 1) state = migrateFromV1(state);
  if (version <= 2) state = migrateFromV2(state);
  const plan = state.plan;
  const pki = state.pki;
  if (!isRecord(plan) || !isRecord(plan.spec) || plan.spec.name !== cluster) {
    throw new StateFileError(file, cluster, 'has no plan for this cluster');
  }
  // In the spec's own order (a state read and written again is the same text); what an older kc did not write, last.
  const filled = {
    ...plan.spec,
    // Written before kc knew more than one Kubernetes version: every such cluster runs the one it knew.
    kubernetesVersion: plan.spec.kubernetesVersion ?? VERSION_BEFORE_RELEASES,
    registryPort: plan.spec.registryPort ?? DEFAULT_REGISTRY_PORT,
    // Written before kc had add-ons, or before it had one of them: the cluster
    // does not run it, and an upgrade must not add it unasked.
    addons: { ...NO_ADDONS, ...(isRecord(plan.spec.addons) ? plan.spec.addons : {}) },
    // Written before kc had the ingress add-on, which such a cluster does not run (above): no ports of its own.
    ingressPorts: plan.spec.ingressPorts ?? { http: 0, https: 0 },
  };
  // The release is resolved here, from the version, once: a cluster of a version this kc does not know is no cluster it can change.
  const runs = typeof filled.kubernetesVersion === 'string' ? filled.kubernetesVersion : JSON.stringify(filled.kubernetesVersion);
  const release = releaseOf(runs);
  if (!release) {
    throw new StateFileError(file, cluster, `says the cluster runs Kubernetes ${runs}, which this kc does not know (it knows ${supportedVersions()}): use the kc that made the cluster`);
  }
  state = { ...state, plan: { ...plan, spec: filled, release } };
  if (!isRecord(pki) || !isRecord(pki.ca) || typeof pki.ca.certPem !== 'string') {
    throw new StateFileError(file, cluster, 'has no certificate authority');
  }
  if (!Array.isArray(state.kubeconfigPaths) || !state.kubeconfigPaths.every((p) => typeof p === 'string')) {
    throw new StateFileError(file, cluster, 'has no valid kubeconfigPaths list');
  }
  const operation = state.operation;
  if (operation !== undefined && !isKnownOperation(operation)) {
    throw new StateFileError(file, cluster, `has an operation kc does not know (${JSON.stringify(operation).slice(0, 80)})`);
  }
  if (state.deleting !== undefined && typeof state.deleting !== 'string') {
    throw new StateFileError(file, cluster, `has a deleting mark that is not a time (${JSON.stringify(state.deleting)})`);
  }
  const journal = state.journal;
  if (journal !== undefined && !isKnownJournal(journal)) {
    throw new StateFileError(file, cluster, `has a journal kc does not know (${JSON.stringify(journal).slice(0, 80)})`);
  }
  return state as unknown as ClusterState;
}

/** Written atomically (temporary file, fsync, rename) with mode 0600 in a 0700 folder: a crash leaves the old file or the new one. */
export async function saveState(state: ClusterState): Promise<void> {
  const dir = clusterStateDir(state.plan.spec.name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  // The release is derived from the version (see migrateState): kept out, so a kc with other pins reads its own.
  const { release: _derived, ...plan } = state.plan;
  await writeFileAtomic(clusterStateFile(state.plan.spec.name), `${JSON.stringify({ ...state, plan }, null, 2)}\n`, { mode: 0o600 });
}

/** The cluster's state; undefined when kc has none. A file that cannot be read or used is a StateFileError. */
export async function loadState(name: string): Promise<ClusterState | undefined> {
  const file = clusterStateFile(name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(file, name, `cannot be read (${(error as Error).message})`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new StateFileError(file, name, `is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return migrateState(raw, file, name);
}

/** Records one more kubeconfig file the cluster's context was written to (kept in first-written order, once each). */
export function withKubeconfigPath(state: ClusterState, path: string): ClusterState {
  return state.kubeconfigPaths.includes(path) ? state : { ...state, kubeconfigPaths: [...state.kubeconfigPaths, path] };
}

export async function removeState(name: string): Promise<void> {
  await rm(clusterStateDir(name), { recursive: true, force: true });
}

export async function listStateNames(): Promise<string[]> {
  try {
    return (await readdir(join(stateDir(), 'clusters'))).sort();
  } catch {
    return [];
  }
}
