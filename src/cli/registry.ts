import type { CommandModule } from 'yargs';
import { DEFAULT_REGISTRY_PORT } from '../config/defaults.js';
import { deleteRegistry, registryViews } from '../cluster/registry/registry.js';
import { checkedRegistryPort, engine, printTable, progressFor, type GlobalOptions, type ListingOptions } from './options.js';

/** A size for people: 12.3 MiB. */
function mib(bytes: number | undefined): string {
  return bytes === undefined ? '' : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

interface GetRegistriesArgs extends GlobalOptions, ListingOptions {
  json: boolean;
}

export const getRegistriesCommand: CommandModule<GlobalOptions, GetRegistriesArgs> = {
  command: 'registries',
  describe: "List kc's registries: port, whether each runs, the clusters that use it, the size of its images",
  builder: (yargs) =>
    yargs
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' })
      .option('headers', { type: 'boolean', default: true, describe: 'A header row on a terminal (--no-headers: tab-separated values only, as when piped)' }),
  handler: async (args) => {
    const registries = await registryViews(engine());
    if (args.json) process.stdout.write(`${JSON.stringify(registries)}\n`);
    else if (registries.length === 0) process.stderr.write('No kc registries found.\n');
    else {
      printTable(args, ['PORT', 'STATUS', 'CLUSTERS', 'SIZE'], registries.map((r) => [
        `localhost:${r.port}`, r.status, r.clusters.join(',') || '-', mib(r.sizeBytes),
      ]));
    }
  },
};

interface DeleteRegistryArgs extends GlobalOptions {
  'registry-port': number;
  all: boolean;
}

export const deleteRegistryCommand: CommandModule<GlobalOptions, DeleteRegistryArgs> = {
  command: 'registry',
  describe: "Remove kc's registry of a port and its images (kept when its last cluster goes); refused while a cluster uses it",
  builder: (yargs) =>
    yargs
      .option('registry-port', { type: 'number', default: DEFAULT_REGISTRY_PORT, describe: 'The registry to remove, by its host port' })
      .option('all', { type: 'boolean', default: false, describe: 'Every registry no cluster uses' }),
  handler: async (args) => {
    const port = checkedRegistryPort(args['registry-port']);
    const docker = engine();
    const progress = progressFor(args);
    const ports = args.all ? (await registryViews(docker)).filter((r) => r.clusters.length === 0).map((r) => r.port) : [port];
    for (const each of ports) {
      const removed = await deleteRegistry(docker, each);
      progress.info(removed ? `Removed the registry on localhost:${each} and its images (${mib(removed.sizeBytes) || 'size unknown'}).` : `No registry on localhost:${each}: nothing to remove.`);
    }
    if (ports.length === 0) progress.info('No registry without a cluster: nothing to remove.');
  },
};
