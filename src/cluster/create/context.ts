import type { ClusterSpec } from '../../config/types.js';
import type { ClusterPlan } from '../../model/plan.js';
import type { NodeImageOptions } from '../../image/node-image.js';
import type { ClusterPki } from '../../pki/types.js';
import type { EngineSpan, Images, Provider, Registries } from '../../provider/provider.js';
import type { Deadline } from '../../util/deadline.js';
import type { Progress, StepNote } from '../../util/progress.js';
import type { ApiProbe, HostApi } from '../kube/api.js';

/**
 * The create pipeline's phases. Each step takes the phase it needs and
 * returns what it adds, so a step can only run once what it uses exists: the
 * compiler checks the order, no step checks for missing fields at run time.
 */

/** Fixed for the whole create: what the steps before the budget starts (engines, images) use. */
export interface CreateInput {
  engine: Provider;
  /** The engine kc runs on, where the shared registry lives. */
  registries: Registries;
  /** For a cluster across engines: joins them before the network is made (and releases them when the create is undone). */
  span: EngineSpan | undefined;
  progress: Progress;
  spec: ClusterSpec;
  /** Where the admin context goes: $KUBECONFIG's first file or ~/.kube/config. */
  kubeconfigPath: string;
  /** Asks the API server (readiness) from the host. */
  apiProbe: ApiProbe;
  /** Makes the cluster's PKI for its plan. */
  generatePki: (plan: ClusterPlan) => Promise<ClusterPki>;
  /** Builds kc's default node image when it is missing (minutes the first time). */
  buildNodeImage: (options: NodeImageOptions) => Promise<unknown>;
  /** Makes the registry's image present (built the first time); says how. */
  ensureRegistryImage: (engine: Images, progress: Progress) => Promise<string>;
  /** Whether the registry's host port is free (another program may hold it). */
  portIsFree: (host: string, port: number) => Promise<boolean>;
}

/** The images are ready: from here on the cluster comes up, within --wait. */
export interface CreateBase extends CreateInput {
  /**
   * The one time budget (--wait) every wait of this create draws on. It starts
   * once the node image is ready: a first build takes minutes (20 on 2 cores
   * from source) and must never make a create fail.
   */
  deadline: Deadline;
}

/** The cluster network exists (from here on, a failure has something to remove). */
export interface Networked extends CreateBase {
  /** The /24 the cluster's network got: node addresses are laid out on it. */
  nodeSubnet: string;
}

export interface Planned extends Networked {
  plan: ClusterPlan;
  /** The PKI, being generated from the moment the plan exists. */
  pendingPki: Promise<ClusterPki>;
  /** The host port the lb publishes the API server on. */
  apiServerHostPort: number;
}

export interface Secured extends Planned {
  pki: ClusterPki;
  /** The API server through the lb's published port, as the shared waits ask it. */
  api: HostApi;
}

/** The pod network is up (or left to the user): what waiting for readiness needs to know of it. */
export interface Networking extends Secured {
  podNetwork: { kind: ClusterSpec['cni']; detail: string };
}

/** One named step of `kc create cluster` (kind's "actions"): small, and shown as one progress line. */
export interface Step<In, Out> {
  title: string;
  /** The step creates something (the network, first): from it on, a failure has things to remove. */
  creates?: boolean;
  run(input: In, note: StepNote): Promise<Out>;
}
