import type { ClusterSpec } from '../config/types.js';
import type { Provider } from '../provider/provider.js';
import type { Progress } from '../util/progress.js';
import { installAddons } from './actions/addons.js';
import { startControlPlane } from './actions/control-plane.js';
import { ensureNodeImage } from './actions/ensure-node-image.js';
import { startEtcd } from './actions/etcd.js';
import { writeKubeconfig } from './actions/kubeconfig.js';
import { configureLoadBalancer } from './actions/load-balancer.js';
import { ClusterExistsError, clusterExists, createNetwork } from './actions/network.js';
import { startNodes } from './actions/nodes.js';
import { generateCertificates, planNodes } from './actions/plan.js';
import { waitForReady } from './actions/wait-ready.js';
import { ensureWeaveImages } from './actions/weave.js';
import { joinWorkers, startWorkers } from './actions/workers.js';
import type { Action, CreateContext } from './context.js';
import { deleteClusterLocked } from './delete.js';
import { withClusterLock } from '../state/lock.js';
import { messageOf } from '../util/errors.js';
import type { ClusterPlan } from '../model/plan.js';
import { generateClusterPkiInBackground } from '../pki/cluster-pki.js';
import type { ClusterPki } from '../pki/types.js';
import { apiGet, type ApiProbe } from './api.js';

/**
 * The create pipeline, in order. Workers are prepared right after the nodes
 * boot (containerd, images, pod network), overlapping with etcd and the
 * control plane; their kubelets start once the API server answers.
 * Checks that can fail without touching anything (images) come before the
 * network step, the first to create something: such a failure leaves nothing.
 */
export const CREATE_ACTIONS: Action[] = [
  ensureNodeImage,
  ensureWeaveImages,
  createNetwork,
  planNodes,
  startNodes,
  generateCertificates,
  configureLoadBalancer,
  startWorkers,
  startEtcd,
  startControlPlane,
  joinWorkers,
  installAddons,
  waitForReady,
  writeKubeconfig,
];

export type CreateOutcome = 'removed' | 'retained' | 'nothing-created' | 'cleanup-failed';

/**
 * A create that failed at a step: names the step, keeps the step's error as
 * `cause`, and says what became of what was created. When removing it failed
 * too, that failure is reported next to the step's error, never instead of it.
 */
export class CreateStepError extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
    readonly outcome: CreateOutcome,
    cluster: string,
    readonly cleanupError?: unknown,
  ) {
    super(`creating the cluster failed at "${step}": ${messageOf(cause)}${CreateStepError.aftermath(outcome, cluster, cleanupError)}`, { cause });
    this.name = 'CreateStepError';
  }

  private static aftermath(outcome: CreateOutcome, cluster: string, cleanupError: unknown): string {
    if (outcome === 'cleanup-failed') {
      return `\nRemoving what was created failed too: ${messageOf(cleanupError)}\nRemove the rest with \`kc delete cluster --name ${cluster}\`.`;
    }
    if (outcome === 'removed') return '\nEverything created so far was removed (use --retain to keep it for debugging).';
    if (outcome === 'retained') {
      return `\nThe nodes were kept (--retain): collect their logs with \`kc export logs --name ${cluster}\`, remove them with \`kc delete cluster --name ${cluster}\`.`;
    }
    return '';
  }
}

export interface CreateOptions {
  engine: Provider;
  progress: Progress;
  spec: ClusterSpec;
  kubeconfigPath: string;
  actions?: Action[];
  /** How the API server is asked whether it is ready; the real HTTPS request unless a test says otherwise. */
  apiProbe?: ApiProbe;
  /** How the cluster's PKI is made; fresh keys on Node's thread pool unless a test says otherwise. */
  generatePki?: (plan: ClusterPlan) => Promise<ClusterPki>;
}

/** After a failed step: removes what was created (unless --retain), and makes the error that says so. */
async function rollBack(ctx: CreateContext, step: string, error: unknown): Promise<CreateStepError> {
  if (!ctx.createdAnything) return new CreateStepError(step, error, 'nothing-created', ctx.spec.name);
  if (ctx.spec.retain) return new CreateStepError(step, error, 'retained', ctx.spec.name);
  try {
    await deleteClusterLocked({ engine: ctx.engine, name: ctx.spec.name, kubeconfigPath: ctx.kubeconfigPath });
  } catch (cleanupError) {
    return new CreateStepError(step, error, 'cleanup-failed', ctx.spec.name, cleanupError);
  }
  return new CreateStepError(step, error, 'removed', ctx.spec.name);
}

export interface CreateResult {
  context: CreateContext;
  /** Seconds each step took, in order: for the summary and the benchmark. */
  stepSeconds: Record<string, number>;
  totalSeconds: number;
}

/**
 * Runs every action, as the only kc process working on this cluster name; on
 * failure removes what was created (unless --retain) and names the failed step.
 */
export async function createCluster(options: CreateOptions): Promise<CreateResult> {
  return withClusterLock(options.spec.name, () => createClusterLocked(options));
}

async function createClusterLocked(options: CreateOptions): Promise<CreateResult> {
  const ctx: CreateContext = {
    engine: options.engine,
    progress: options.progress,
    spec: options.spec,
    kubeconfigPath: options.kubeconfigPath,
    apiProbe: options.apiProbe ?? apiGet,
    generatePki: options.generatePki ?? generateClusterPkiInBackground,
    createdAnything: false,
  };
  const stepSeconds: Record<string, number> = {};
  const started = Date.now();
  // Before any step: a taken name is the user's to fix, and must not cost an image build first.
  if (await clusterExists(ctx, ctx.spec.name)) throw new ClusterExistsError(ctx.spec.name);
  for (const action of options.actions ?? CREATE_ACTIONS) {
    if (action.when && !action.when(ctx)) continue;
    const stepStarted = Date.now();
    try {
      await options.progress.step(action.title, (note) => action.run(ctx, note));
    } catch (error) {
      throw await rollBack(ctx, action.title, error);
    }
    stepSeconds[action.title] = (Date.now() - stepStarted) / 1000;
  }
  return { context: ctx, stepSeconds, totalSeconds: (Date.now() - started) / 1000 };
}
