import type { CommandModule } from 'yargs';
import { KUBERNETES_VERSION } from '../artifacts/manifest.js';
import { DEFAULT_SOURCE, SOURCE_CHOICES, type SourceChoice } from '../artifacts/resolve.js';
import { DEFAULT_NODE_IMAGE } from '../config/defaults.js';
import { buildNodeImage, nodeImageTagProblem } from '../image/node-image.js';
import { engine, progressFor, UsageError, type GlobalOptions } from './options.js';

interface BuildNodeImageArgs extends GlobalOptions {
  'kubernetes-version': string;
  source: SourceChoice;
  image: string;
}

export const buildNodeImageCommand: CommandModule<GlobalOptions, BuildNodeImageArgs> = {
  command: 'node-image',
  describe: 'Build the node image from release downloads or from source',
  builder: (yargs) =>
    yargs
      .option('kubernetes-version', {
        type: 'string',
        default: KUBERNETES_VERSION,
        describe: 'Kubernetes version (kc pins one; others need a manifest change)',
      })
      .option('source', {
        choices: SOURCE_CHOICES,
        default: DEFAULT_SOURCE,
        describe: 'Where binaries come from: release downloads, source builds, or auto (release, else source)',
      })
      .option('image', { type: 'string', default: DEFAULT_NODE_IMAGE, describe: 'Name:tag of the image to build' }),
  handler: async (args) => {
    if (args['kubernetes-version'] !== KUBERNETES_VERSION) {
      throw new UsageError(
        `kc ${KUBERNETES_VERSION.replace(/^v/, '')}'s manifest pins Kubernetes ${KUBERNETES_VERSION}; ` +
          `${args['kubernetes-version']} is not available. Use --kubernetes-version ${KUBERNETES_VERSION}, ` +
          'or bump KUBERNETES_VERSION in src/artifacts/manifest.ts.',
      );
    }
    if (!/^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$/.test(args.image)) {
      throw new UsageError(`--image "${args.image}" is not a valid image reference (expected name:tag, e.g. kc/node:dev)`);
    }
    const tagProblem = nodeImageTagProblem(args.image);
    if (tagProblem) throw new UsageError(tagProblem);
    const progress = progressFor(args);
    const started = Date.now();
    const result = await buildNodeImage({ engine: engine(), progress, tag: args.image, source: args.source });
    const size = `${(result.sizeBytes / 1024 ** 2).toFixed(0)} MiB`;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (!result.built && result.producedArtifacts.length === 0) {
      progress.info(`Nothing to rebuild: every artifact came from the cache and ${result.tag} is up to date (${size}, ${seconds}s).`);
    } else {
      progress.info(`Built ${result.tag} (${size}) in ${seconds}s.`);
    }
    if (args.quiet) process.stdout.write(`${result.tag}\n`);
  },
};
