import { WEAVE_IMAGES, WEAVE_VERSION } from '../../artifacts/manifest.js';
import {
  parseIptablesBackend,
  weaveDatapath,
  weaveImagesProblem,
  weaveKernelProblem,
  weaveManifest,
  WEAVE_KERNEL_PROBE,
  type IptablesBackend,
} from '../../components/weave.js';
import { execOrThrow, type Images, LABEL_CLUSTER } from '../../provider/provider.js';
import type { CreateInput, Secured, Step } from './context.js';
import { kubectl } from '../kube/kubectl.js';
import { loadDockerImages } from '../ops/load.js';
import { waitForUnit } from '../node/units.js';
import { waitUntil } from '../../util/poll.js';
import { UNIT } from '../../components/units.js';
import { concurrently } from '../../util/concurrent.js';

const WEAVE_IMAGE_LIST = [WEAVE_IMAGES.kube, WEAVE_IMAGES.npc];

/** Which images the host's Docker has, pulling the missing ones when a registry answers. */
export async function weaveImagesPresent(
  engine: Pick<Images, 'imageLabels' | 'tryPull'>,
  images: string[] = WEAVE_IMAGE_LIST,
): Promise<{ present: Record<string, boolean>; pulled: string[] }> {
  const present: Record<string, boolean> = {};
  const pulled: string[] = [];
  for (const image of images) {
    if (await engine.imageLabels(image)) {
      present[image] = true;
    } else {
      present[image] = await engine.tryPull(image);
      if (present[image]) pulled.push(image);
    }
  }
  return { present, pulled };
}

/**
 * `--cni weave` only, first of all: can the engine's kernel run Weave at all?
 * The probe runs in a container of the node image rather than on the machine
 * kc runs on, because the engine may be remote: its kernel is the nodes'.
 * Seconds, and nothing is left behind (the container is removed).
 */
export const checkWeaveKernel: Step<CreateInput, void> = {
  title: 'Checking the kernel for Weave Net',
  async run(ctx, note) {
    // Labelled as the cluster's, so that even a probe container that outlived kc would go with `kc delete cluster`.
    const labels = { [LABEL_CLUSTER]: ctx.spec.name };
    const probe = await ctx.engine.runOnce(ctx.spec.nodeImage, WEAVE_KERNEL_PROBE, { privileged: true, labels });
    const problem = weaveKernelProblem(probe.exitCode, `${probe.stdout}${probe.stderr}`);
    if (problem) throw new Error(`${problem}\nNothing was created.`);
    note('dummy interfaces supported');
  },
};

/**
 * `--cni weave` only: the Weave Net images must be in the host's Docker (kc
 * loads them into the workers later). Runs before the network step, so when they
 * cannot be had, the error comes before anything exists.
 */
export const ensureWeaveImages: Step<CreateInput, void> = {
  title: 'Ensuring Weave Net images',
  async run(ctx, note) {
    const { present, pulled } = await weaveImagesPresent(ctx.engine);
    const problem = weaveImagesProblem(present);
    if (problem) throw new Error(`${problem}\nNothing was created.`);
    note(`${WEAVE_VERSION}${pulled.length > 0 ? `, pulled ${pulled.join(', ')}` : ''}`);
  },
};

/** Loads the images into every worker's containerd and applies the DaemonSet; returns the iptables backend it was given. */
export async function installWeave(ctx: Secured): Promise<IptablesBackend> {
  const { plan } = ctx;
  const first = plan.workers[0];
  if (!first) throw new Error('internal: no workers');
  await concurrently(plan.workers, (worker) => waitForUnit(ctx.engine, worker, UNIT.containerd, ctx.deadline));
  await loadDockerImages(ctx.engine, plan.workers, WEAVE_IMAGE_LIST);
  const iptablesBackend = parseIptablesBackend(await execOrThrow(ctx.engine, first, ['cat', '/etc/kc-iptables-mode']));
  await kubectl(ctx.engine, plan, ['apply', '-f', '-'], weaveManifest(plan, { iptablesBackend, images: WEAVE_IMAGES }));
  return iptablesBackend;
}

const KUBE_SYSTEM = ['-n', 'kube-system'];

/**
 * Waits for the weave-net DaemonSet on every worker, then asks one Weave
 * router which datapath its peer connections use (fastdp or sleeve).
 */
export async function waitForWeave(ctx: Secured): Promise<string> {
  const { plan } = ctx;
  await waitUntil(
    'the weave-net DaemonSet to be ready',
    async () => {
      const out = await kubectl(ctx.engine, plan, [
        ...KUBE_SYSTEM, 'get', 'daemonset', 'weave-net', '-o', 'jsonpath={.status.desiredNumberScheduled} {.status.numberReady}',
      ]);
      const [desired = 0, ready = 0] = out.trim().split(/\s+/).map(Number);
      return (desired >= plan.workers.length && ready === desired) || `${ready} of ${desired} pods ready`;
    },
    {
      deadline: ctx.deadline,
      intervalMs: 1000,
      onTimeout: () => kubectl(ctx.engine, plan, [...KUBE_SYSTEM, 'logs', '-l', 'name=weave-net', '-c', 'weave', '--prefix', '--tail=15']),
    },
  );
  const pod = (await kubectl(ctx.engine, plan, [...KUBE_SYSTEM, 'get', 'pods', '-l', 'name=weave-net', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  let connections = '';
  try {
    // Each router connects to every other worker's; give the connections a moment to settle.
    await waitUntil(
      'Weave Net peers to connect',
      async () => {
        connections = await kubectl(ctx.engine, plan, [
          ...KUBE_SYSTEM, 'exec', pod, '-c', 'weave', '--', '/home/weave/weave', '--local', 'status', 'connections',
        ]);
        const { established } = weaveDatapath(connections);
        return established >= plan.workers.length - 1 || `${established} of ${plan.workers.length - 1} established`;
      },
      { deadline: ctx.deadline, timeoutMs: 30_000, intervalMs: 2000 },
    );
  } catch (error) {
    // Only a report: a datapath that did not settle in time is still described as seen.
    if (!connections) return `datapath unknown (${(error as Error).message.split('\n')[0]})`;
  }
  return weaveDatapath(connections).summary;
}
