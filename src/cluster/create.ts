import type { ClusterSpec } from '../config/types.js';
import type { DockerEngine } from '../docker/engine.js';
import type { Progress } from '../util/progress.js';
import { installAddons } from './actions/addons.js';
import { startControlPlane } from './actions/control-plane.js';
import { ensureNodeImage } from './actions/ensure-node-image.js';
import { startEtcd } from './actions/etcd.js';
import { writeKubeconfig } from './actions/kubeconfig.js';
import { configureLoadBalancer } from './actions/load-balancer.js';
import { createNetwork } from './actions/network.js';
import { startNodes } from './actions/nodes.js';
import { generateCertificates, planNodes } from './actions/plan.js';
import { waitForReady } from './actions/wait-ready.js';
import { checkWeaveKernel, ensureWeaveImages } from './actions/weave.js';
import { joinWorkers, startWorkers } from './actions/workers.js';
import type { Action, CreateContext } from './context.js';
import { deleteCluster } from './delete.js';

/**
 * The create pipeline, in order. Workers are prepared right after the nodes
 * boot (containerd, images, pod network), overlapping with etcd and the
 * control plane; their kubelets start once the API server answers.
 * Checks that can fail without touching anything (kernel, images) come before the
 * network step, the first to create something: such a failure leaves nothing.
 */
export const CREATE_ACTIONS: Action[] = [
  ensureNodeImage,
  checkWeaveKernel,
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

export class CreateStepError extends Error {
  constructor(readonly step: string, cause: Error, outcome: 'removed' | 'retained' | 'nothing-created', cluster: string) {
    super(`creating the cluster failed at "${step}": ${cause.message}${CreateStepError.aftermath(outcome, cluster)}`);
    this.name = 'CreateStepError';
  }

  private static aftermath(outcome: 'removed' | 'retained' | 'nothing-created', cluster: string): string {
    if (outcome === 'removed') return '\nEverything created so far was removed (use --retain to keep it for debugging).';
    if (outcome === 'retained') {
      return `\nThe nodes were kept (--retain): collect their logs with \`kc export logs --name ${cluster}\`, remove them with \`kc delete cluster --name ${cluster}\`.`;
    }
    return '';
  }
}

export interface CreateOptions {
  engine: DockerEngine;
  progress: Progress;
  spec: ClusterSpec;
  kubeconfigPath: string;
  actions?: Action[];
}

export interface CreateResult {
  context: CreateContext;
  /** Seconds each step took, in order: for the summary and the benchmark. */
  stepSeconds: Record<string, number>;
  totalSeconds: number;
}

/** Runs every action; on failure removes what was created (unless --retain) and names the failed step. */
export async function createCluster(options: CreateOptions): Promise<CreateResult> {
  const ctx: CreateContext = {
    engine: options.engine,
    progress: options.progress,
    spec: options.spec,
    kubeconfigPath: options.kubeconfigPath,
    createdAnything: false,
  };
  const stepSeconds: Record<string, number> = {};
  const started = Date.now();
  for (const action of options.actions ?? CREATE_ACTIONS) {
    if (action.when && !action.when(ctx)) continue;
    const stepStarted = Date.now();
    try {
      await options.progress.step(action.title, (note) => action.run(ctx, note));
    } catch (error) {
      const outcome = !ctx.createdAnything ? 'nothing-created' : ctx.spec.retain ? 'retained' : 'removed';
      if (outcome === 'removed') await deleteCluster({ engine: ctx.engine, name: ctx.spec.name, kubeconfigPath: ctx.kubeconfigPath });
      throw new CreateStepError(action.title, error as Error, outcome, ctx.spec.name);
    }
    stepSeconds[action.title] = (Date.now() - stepStarted) / 1000;
  }
  return { context: ctx, stepSeconds, totalSeconds: (Date.now() - started) / 1000 };
}
