import type { ClusterSpec } from '../config/types.js';
import type { ApiProbe } from './api.js';
import type { Provider } from '../provider/provider.js';
import type { ClusterPki } from '../pki/types.js';
import type { Progress } from '../util/progress.js';
import type { ClusterPlan } from '../model/plan.js';

/** What the create pipeline's actions share: filled in step by step. */
export interface CreateContext {
  engine: Provider;
  progress: Progress;
  spec: ClusterSpec;
  /** Where the admin context goes: $KUBECONFIG's first file or ~/.kube/config. */
  kubeconfigPath: string;
  /** Asks the API server (readiness) from the host. */
  apiProbe: ApiProbe;
  /** Makes the cluster's PKI for its plan. */
  generatePki: (plan: ClusterPlan) => Promise<ClusterPki>;
  /** The /24 the cluster's network got: node addresses are laid out on it. */
  nodeSubnet?: string;
  plan?: ClusterPlan;
  /** The PKI while it is being generated (during the node boot). */
  pendingPki?: Promise<ClusterPki>;
  pki?: ClusterPki;
  apiServerHostPort?: number;
  /** Set once the pipeline created something that must be cleaned up on failure. */
  createdAnything: boolean;
}

/** One named step of `kc create cluster` (kind's "actions"): small, and shown as one progress line. */
export interface Action {
  title: string;
  /** When present and false, the step is skipped (not shown): for steps only some clusters need. */
  when?(ctx: CreateContext): boolean;
  run(ctx: CreateContext, note: (detail: string) => void): Promise<void>;
}

export function requirePlan(ctx: CreateContext): ClusterPlan {
  if (!ctx.plan) throw new Error('internal: the cluster has not been planned yet');
  return ctx.plan;
}

export function requirePki(ctx: CreateContext): ClusterPki {
  if (!ctx.pki) throw new Error('internal: the cluster PKI has not been generated yet');
  return ctx.pki;
}

/** Remaining time of the user's --wait budget, for each wait in turn. */
export function waitBudgetMs(ctx: CreateContext): number {
  return ctx.spec.waitSeconds * 1000;
}
