import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME, DEFAULT_REGISTRY_PORT } from '../config/defaults.js';
import { loadIntoRegistry } from '../cluster/registry/load.js';
import { imagesOfManifests } from '../cluster/registry/manifest-images.js';
import { loadState } from '../state/cluster-state.js';
import { run } from '../util/exec.js';
import { importArchive, loadDockerImages, workerNodes } from '../cluster/ops/load.js';
import { checkedName } from './delete-cluster.js';
import { engineForCluster } from './engines.js';
import { checkedRegistryPort, engine, progressFor, UsageError, type GlobalOptions } from './options.js';
import { counted } from '../util/words.js';

interface LoadArgs extends GlobalOptions {
  name: string;
  nodes?: string;
}

interface LoadDockerImageArgs extends LoadArgs {
  images: string[];
}

interface LoadArchiveArgs extends LoadArgs {
  file: string;
}

const nodeOptions = {
  name: { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' },
  nodes: { type: 'string', describe: 'Comma-separated worker names (default: every worker)' },
} as const;

function nodeList(nodes: string | undefined): string[] | undefined {
  return nodes?.split(',').map((n) => n.trim()).filter(Boolean);
}

export const loadDockerImageCommand: CommandModule<GlobalOptions, LoadDockerImageArgs> = {
  command: 'docker-image <images..>',
  describe: "Load images from the host's Docker into the cluster's nodes",
  builder: (yargs) => yargs.options(nodeOptions).positional('images', { type: 'string', array: true, demandOption: true }),
  handler: async (args) => {
    const name = checkedName(args.name);
    const docker = await engineForCluster(name);
    const nodes = await workerNodes(docker, name, nodeList(args.nodes));
    await progressFor(args).step(`Loading ${args.images.join(', ')} into ${counted(nodes.length, 'node')}`, () =>
      loadDockerImages(docker, nodes, args.images),
    );
  },
};

export const loadImageArchiveCommand: CommandModule<GlobalOptions, LoadArchiveArgs> = {
  command: 'image-archive <file>',
  describe: 'Load an image archive (docker save format) into the cluster\'s nodes',
  builder: (yargs) => yargs.options(nodeOptions).positional('file', { type: 'string', demandOption: true }),
  handler: async (args) => {
    await access(args.file, constants.R_OK).catch(() => {
      throw new UsageError(`cannot read image archive ${args.file}: name an existing file made by \`docker save\``);
    });
    const name = checkedName(args.name);
    const docker = await engineForCluster(name);
    const nodes = await workerNodes(docker, name, nodeList(args.nodes));
    await progressFor(args).step(`Loading ${args.file} into ${counted(nodes.length, 'node')}`, () => importArchive(docker, nodes, args.file));
  },
};

interface LoadRegistryArgs extends GlobalOptions {
  images?: string[];
  name: string;
  'registry-port'?: number;
  as?: string;
  'from-manifest'?: string[];
  'from-chart'?: string[];
  values?: string[];
}

/** The registry port: --registry-port, else the named cluster's, else kc's default. */
async function registryPortFor(args: LoadRegistryArgs): Promise<number> {
  if (args['registry-port'] !== undefined) return checkedRegistryPort(args['registry-port']);
  const state = await loadState(checkedName(args.name));
  if (state && !state.plan.spec.addons.registry) {
    throw new UsageError(`cluster "${args.name}" runs without the registry add-on: create one with it, or name a registry with --registry-port`);
  }
  return state?.plan.spec.registryPort ?? DEFAULT_REGISTRY_PORT;
}

/** Images named on the command line, in the manifests and in the charts (rendered by helm), once each. */
async function imagesToLoad(args: LoadRegistryArgs): Promise<string[]> {
  const images = [...(args.images ?? [])];
  for (const file of args['from-manifest'] ?? []) {
    const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch(() => {
      throw new UsageError(`cannot read manifest ${file}: name a YAML file of Kubernetes objects, or - for stdin`);
    });
    images.push(...imagesOfManifests(text, file));
  }
  for (const chart of args['from-chart'] ?? []) images.push(...imagesOfManifests(await renderChart(chart, args.values ?? []), chart));
  return [...new Set(images)];
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `helm template` of a chart, its test hooks included: every image it would run. */
async function renderChart(chart: string, values: string[]): Promise<string> {
  try {
    return await run('helm', ['template', 'kc-load', chart, ...values.flatMap((file) => ['--values', file])]);
  } catch (error) {
    if ((error as Error).message.startsWith('cannot run')) {
      throw new UsageError(
        `--from-chart renders the chart with helm, which is not on PATH: install helm, or render it yourself ` +
          `(helm template NAME ${chart} > app.yaml) and use --from-manifest app.yaml`,
      );
    }
    throw new UsageError(`helm could not render the chart ${chart}: ${(error as Error).message}`);
  }
}

export const loadRegistryCommand: CommandModule<GlobalOptions, LoadRegistryArgs> = {
  command: 'registry [images..]',
  describe: "Push images of the host's Docker into kc's registry, under the names its mirror serves to pods",
  builder: (yargs) =>
    yargs
      .positional('images', { type: 'string', array: true, describe: 'Images to push, as pods name them (redis:7.0.7, ghcr.io/owner/app:1)' })
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster whose registry to use' })
      .option('registry-port', { type: 'number', describe: 'The registry to use by its host port (default: the cluster\'s)' })
      .option('as', { type: 'string', describe: 'With one image: push it as this name of kc\'s registry (pods then pull localhost:<port>/NAME)' })
      .option('from-manifest', { type: 'string', array: true, describe: 'Also every image these YAML files of Kubernetes objects name (- for stdin)' })
      .option('from-chart', { type: 'string', array: true, describe: 'Also every image these Helm charts name, test hooks included (rendered with helm template)' })
      .option('values', { type: 'string', array: true, describe: 'Values files for --from-chart' })
      .check((args) => {
        const count = (args.images?.length ?? 0) + (args['from-manifest']?.length ?? 0) + (args['from-chart']?.length ?? 0);
        if (count === 0) throw new UsageError('say what to push: images, --from-manifest FILE or --from-chart DIR');
        if (args.as !== undefined && ((args.images?.length ?? 0) !== 1 || args['from-manifest'] || args['from-chart'])) {
          throw new UsageError('--as names one image: give exactly one image with it, and no --from-manifest or --from-chart');
        }
        if (args.values && !args['from-chart']) throw new UsageError('--values goes with --from-chart');
        return true;
      }),
  handler: async (args) => {
    const port = await registryPortFor(args);
    const images = await imagesToLoad(args);
    if (images.length === 0) throw new UsageError('the manifests and charts name no container images: nothing to push');
    const progress = progressFor(args);
    const outcomes = await progress.step(`Pushing ${counted(images.length, 'image')} into kc's registry (localhost:${port})`, async (note) => {
      const done = await loadIntoRegistry(engine(), port, images, args.as);
      note(`${done.filter((o) => 'pushedAs' in o).length} pushed`);
      return done;
    });
    for (const outcome of outcomes) {
      if ('pushedAs' in outcome) {
        progress.info(outcome.pullAs === outcome.image ? `${outcome.image} → ${outcome.pushedAs} (pods pull it as ${outcome.image})` : `${outcome.image} → ${outcome.pushedAs} (pods must pull it as ${outcome.pullAs})`);
      }
    }
    const missing = outcomes.filter((o) => 'missing' in o).map((o) => o.image);
    if (missing.length > 0) {
      progress.info(`Not on this machine, so not pushed (docker pull or build them first; online, nodes pull them from their registry): ${missing.join(', ')}`);
    }
    const refused = outcomes.filter((o): o is Extract<typeof o, { refused: string }> => 'refused' in o);
    if (refused.length > 0) throw new UsageError(refused.map((o) => `${o.image} ${o.refused}`).join('\n'));
  },
};
