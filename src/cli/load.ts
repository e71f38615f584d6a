import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { importArchive, loadDockerImages, workerNodes } from '../cluster/ops/load.js';
import { checkedName } from './delete-cluster.js';
import { engineForCluster } from './engines.js';
import { progressFor, UsageError, type GlobalOptions } from './options.js';
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
