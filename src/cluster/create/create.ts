import type { ClusterSpec } from '../../config/types.js';
import type { ClusterPlan } from '../../model/plan.js';
import { buildNodeImage } from '../../image/node-image.js';
import { generateClusterPki } from '../../pki/cluster-pki.js';
import type { ClusterPki } from '../../pki/types.js';
import type { EngineSpan, Provider, Registries } from '../../provider/provider.js';
import { withClusterLock } from '../../state/lock.js';
import { Deadline } from '../../util/deadline.js';
import { messageOf } from '../../util/errors.js';
import { isInterruption, stopIfInterrupted } from '../../util/interrupt.js';
import type { Progress } from '../../util/progress.js';
import { installAddons } from './addons.js';
import { ensureRegistry, startRegistry } from './registry.js';
import { portIsFree } from '../registry/registry.js';
import { ensureRegistryImage } from '../../image/registry-image.js';
import { startControlPlane } from './control-plane.js';
import { checkEngines } from './engines.js';
import { ensureNodeImage } from './ensure-node-image.js';
import { chooseIngressPorts } from './ingress-ports.js';
import { startEtcd } from './etcd.js';
import { writeKubeconfig } from './kubeconfig.js';
import { ClusterExistsError, clusterExists, createNetwork } from './network.js';
import { startNodes } from './nodes.js';
import { generateCertificates, planNodes } from './plan.js';
import { setUpPodNetwork } from './pod-network.js';
import { waitForReady } from './wait-ready.js';
import { checkWeaveKernel, ensureWeaveImages } from './weave.js';
import { joinWorkers } from './workers.js';
import { apiGet, type ApiProbe } from '../kube/api.js';
import type { CreateBase, CreateInput, Step } from './context.js';
import { deleteClusterLocked } from '../ops/delete.js';

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
    const what = isInterruption(cause) ? `creating the cluster was ${messageOf(cause)} at "${step}"` : `creating the cluster failed at "${step}": ${messageOf(cause)}`;
    super(`${what}${CreateStepError.aftermath(outcome, cluster, cleanupError)}`, { cause });
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
  /** The engine kc runs on, where the shared registry lives. */
  registries: Registries;
  /** For a cluster across engines (see MultiEngine.span); undefined on one engine. */
  span?: EngineSpan | undefined;
  progress: Progress;
  spec: ClusterSpec;
  kubeconfigPath: string;
  /** How the API server is asked whether it is ready; the real HTTPS request unless a test says otherwise. */
  apiProbe?: ApiProbe;
  /** How the cluster's PKI is made; fresh keys unless a test says otherwise. */
  generatePki?: (plan: ClusterPlan) => Promise<ClusterPki>;
  /** How a missing default node image is built; for real unless a test says otherwise. */
  buildNodeImage?: CreateInput['buildNodeImage'];
  /** How the registry's image is made present; for real unless a test says otherwise. */
  ensureRegistryImage?: CreateInput['ensureRegistryImage'];
  /** Whether the registry's port is free on this host; asked for real unless a test says otherwise. */
  portIsFree?: CreateInput['portIsFree'];
  /** Called when a step's work is done, still as part of it (a test injects failures here). */
  afterStep?: (title: string) => Promise<void> | void;
  /** Ctrl-C: the create stops at its next safe point (between steps, or in a wait) and removes what it made, as after a failure. */
  signal?: AbortSignal | undefined;
}

export interface CreateResult {
  /** The created cluster's layout. */
  plan: ClusterPlan;
  /** Seconds each step took, in order: for the summary and the benchmark. */
  stepSeconds: Record<string, number>;
  totalSeconds: number;
  /** Seconds in which kc was waiting for at least one component to become ready (see Deadline). */
  waitSeconds: number;
}

/**
 * Runs steps one after the other, each as one progress line; on a failure
 * removes what was created (unless --retain) and names the failed step.
 */
class StepRunner {
  readonly stepSeconds: Record<string, number> = {};
  /** Set once a step creates something that must be removed on failure (the network, first). */
  private createdAnything = false;

  constructor(
    private readonly base: CreateInput,
    private readonly afterStep: CreateOptions['afterStep'],
    private readonly signal: AbortSignal | undefined,
  ) {}

  async run<In, Out>(step: Step<In, Out>, input: In): Promise<Out> {
    const started = Date.now();
    // Marked before the step runs: a step that fails half-way may have created part of what it makes.
    if (step.creates) this.createdAnything = true;
    try {
      // Between steps: a safe point to stop at.
      stopIfInterrupted(this.signal);
      const output = await this.base.progress.step(step.title, async (note) => {
        const result = await step.run(input, note);
        await this.afterStep?.(step.title);
        return result;
      });
      this.stepSeconds[step.title] = (Date.now() - started) / 1000;
      return output;
    } catch (error) {
      throw await this.rollBack(step.title, error);
    }
  }

  private async rollBack(step: string, error: unknown): Promise<CreateStepError> {
    const { engine, registries, span, spec, kubeconfigPath } = this.base;
    if (!this.createdAnything) return new CreateStepError(step, error, 'nothing-created', spec.name);
    if (spec.retain) return new CreateStepError(step, error, 'retained', spec.name);
    try {
      await deleteClusterLocked({ engine, registries, span, name: spec.name, kubeconfigPath });
    } catch (cleanupError) {
      return new CreateStepError(step, error, 'cleanup-failed', spec.name, cleanupError);
    }
    return new CreateStepError(step, error, 'removed', spec.name);
  }
}

/**
 * Creates a cluster, as the only kc process working on this cluster name. The
 * steps run in this order: checks that can fail without touching anything
 * (engines, host ports, kernel, images) come before the network, the first thing created; the PKI
 * comes before the nodes, which boot with every file in place and start
 * HAProxy, etcd, the API servers, containerd and the pod network by
 * themselves, all at once; what needs the API server (controller-manager,
 * scheduler, kubelets) starts once it is ready. Each phase hands the next
 * what it made (see context.ts), and every wait draws on one deadline,
 * --wait, for the cluster to come up: it starts once the node image is
 * ready, so a first build (minutes) never makes a create fail.
 */
export async function createCluster(options: CreateOptions): Promise<CreateResult> {
  return withClusterLock(options.spec.name, () => createClusterLocked(options));
}

async function createClusterLocked(options: CreateOptions): Promise<CreateResult> {
  const started = Date.now();
  const input: CreateInput = {
    engine: options.engine,
    registries: options.registries,
    span: options.span,
    progress: options.progress,
    spec: options.spec,
    kubeconfigPath: options.kubeconfigPath,
    apiProbe: options.apiProbe ?? apiGet,
    generatePki: options.generatePki ?? generateClusterPki,
    buildNodeImage: options.buildNodeImage ?? buildNodeImage,
    ensureRegistryImage: options.ensureRegistryImage ?? ensureRegistryImage,
    portIsFree: options.portIsFree ?? portIsFree,
  };
  // Before any step: a taken name is the user's to fix, and must not cost an image build first.
  if (await clusterExists(input, input.spec.name)) throw new ClusterExistsError(input.spec.name);
  const steps = new StepRunner(input, options.afterStep, options.signal);

  await steps.run(checkEngines, input);
  // Before the node image: a taken port must not cost a build first.
  const ported = input.spec.addons.ingress ? { ...input, ...(await steps.run(chooseIngressPorts, input)) } : input;
  const imaged = { ...ported, ...(await steps.run(ensureNodeImage, ported)) };
  if (imaged.spec.cni === 'weave') {
    await steps.run(checkWeaveKernel, imaged);
    await steps.run(ensureWeaveImages, imaged);
  }
  if (imaged.spec.addons.registry) await steps.run(ensureRegistry, imaged);
  // --wait counts from here, as kind's does: the images are ready, the cluster comes up.
  const base: CreateBase = { ...imaged, deadline: new Deadline(input.spec.waitSeconds, `--wait ${input.spec.waitSeconds}`, Date.now(), 'create (counted from when the node image was ready)', options.signal) };
  const networked = { ...base, ...(await steps.run(createNetwork, base)) };
  const planned = { ...networked, ...(await steps.run(planNodes, networked)) };
  const secured = { ...planned, ...(await steps.run(generateCertificates, planned)) };
  if (secured.spec.addons.registry) await steps.run(startRegistry, secured);
  await steps.run(startNodes, secured);
  await steps.run(startEtcd, secured);
  await steps.run(startControlPlane, secured);
  await steps.run(joinWorkers, secured);
  await steps.run(installAddons, secured);
  const networking = { ...secured, ...(await steps.run(setUpPodNetwork, secured)) };
  await steps.run(waitForReady, networking);
  await steps.run(writeKubeconfig, networking);
  return {
    plan: networking.plan,
    stepSeconds: steps.stepSeconds,
    totalSeconds: (Date.now() - started) / 1000,
    waitSeconds: base.deadline.waitedMs() / 1000,
  };
}
