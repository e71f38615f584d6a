import type { CommandModule } from 'yargs';
import { DEFAULT_RELEASE, releaseOf, supportedVersions } from '../artifacts/manifest.js';
import { DEFAULT_SOURCE, SOURCE_CHOICES, type SourceChoice } from '../artifacts/resolve.js';
import { nodeImageFor } from '../config/defaults.js';
import { buildNodeImage, nodeImageTagProblem } from '../image/node-image.js';
import { pushTargets } from '../image/published.js';
import { isImageReference } from '../util/image-ref.js';
import { engine, progressFor, UsageError, type GlobalOptions } from './options.js';

interface BuildNodeImageArgs extends GlobalOptions {
  'kubernetes-version': string;
  source: SourceChoice;
  image?: string;
  push?: string;
}

export const buildNodeImageCommand: CommandModule<GlobalOptions, BuildNodeImageArgs> = {
  command: 'node-image',
  describe: 'Build the node image from release downloads or from source',
  builder: (yargs) =>
    yargs
      .option('kubernetes-version', {
        type: 'string',
        default: DEFAULT_RELEASE.kubernetes,
        describe: `Kubernetes version to build (${supportedVersions()}), with the etcd, CoreDNS and pause its kubeadm pins`,
      })
      .option('source', {
        choices: SOURCE_CHOICES,
        default: DEFAULT_SOURCE,
        describe: 'Where binaries come from: release downloads, source builds, or auto (release, else source)',
      })
      .option('image', { type: 'string', defaultDescription: 'kc/node:<version>', describe: 'Name:tag of the image to build' })
      .option('push', {
        type: 'string',
        describe:
          'Push the image to a registry when built: REPOSITORY (pushed as :<version> and as :<version>-<recipe>, the name kc create cluster pulls) or REPOSITORY:TAG. ' +
          'Logs in as `docker login` left it',
      }),
  handler: async (args) => {
    const release = releaseOf(args['kubernetes-version']);
    if (!release) {
      throw new UsageError(`--kubernetes-version ${args['kubernetes-version']} is not one kc builds node images for: use one of ${supportedVersions()}`);
    }
    const image = args.image ?? nodeImageFor(release.kubernetes);
    for (const [flag, value] of [['--image', image], ['--push', args.push]] as const) {
      if (value !== undefined && !isImageReference(value)) {
        throw new UsageError(`${flag} "${value}" is not a valid image reference (expected [host[:port]/]name[:tag], e.g. kc/node:dev or ghcr.io/owner/kc-node)`);
      }
    }
    const tagProblem = nodeImageTagProblem(image, release.kubernetes);
    if (tagProblem) throw new UsageError(tagProblem);
    const progress = progressFor(args);
    const started = Date.now();
    const docker = engine();
    const result = await buildNodeImage({ engine: docker, progress, tag: image, source: args.source, release });
    const size = `${(result.sizeBytes / 1024 ** 2).toFixed(0)} MiB`;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (!result.built && result.producedArtifacts.length === 0) {
      progress.info(`Nothing to rebuild: every artifact came from the cache and ${result.tag} is up to date (${size}, ${seconds}s).`);
    } else {
      progress.info(`Built ${result.tag} (${size}) in ${seconds}s.`);
    }
    if (args.push !== undefined) {
      const targets = await pushTargets(args.push, release);
      await progress.step(`Pushing ${targets.join(', ')}`, async () => {
        for (const target of targets) await docker.pushImage(result.tag, target);
      });
    }
    if (args.quiet) process.stdout.write(`${result.tag}\n`);
  },
};
