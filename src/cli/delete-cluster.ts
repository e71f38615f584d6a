import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { validateClusterName, ValidationError } from '../config/validate.js';
import { deleteCluster } from '../cluster/delete.js';
import { listClusterNames } from '../cluster/list.js';
import { engine, progressFor, UsageError, type GlobalOptions } from './options.js';

interface DeleteClusterArgs extends GlobalOptions {
  name: string;
  kubeconfig?: string;
}

export function checkedName(name: string): string {
  try {
    return validateClusterName(name);
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(`--${error.message}`);
    throw error;
  }
}

export const deleteClusterCommand: CommandModule<GlobalOptions, DeleteClusterArgs> = {
  command: 'cluster',
  describe: 'Delete a cluster: containers, network, volumes, state and its kubeconfig context',
  builder: (yargs) =>
    yargs
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .option('kubeconfig', { type: 'string', describe: 'Kubeconfig file to remove the context from' }),
  handler: async (args) => {
    const name = checkedName(args.name);
    const progress = progressFor(args);
    await progress.step(`Deleting cluster "${name}"`, async (note) => {
      const result = await deleteCluster({ engine: engine(), name, kubeconfigPath: args.kubeconfig });
      note(result.containers + result.networks === 0 && !result.state ? 'nothing to delete' : `${result.containers} containers`);
    });
  },
};

interface DeleteClustersArgs extends GlobalOptions {
  all: boolean;
}

export const deleteClustersCommand: CommandModule<GlobalOptions, DeleteClustersArgs> = {
  command: 'clusters',
  describe: 'Delete several clusters (--all: every kc cluster)',
  builder: (yargs) => yargs.option('all', { type: 'boolean', default: false, describe: 'Delete every kc cluster' }),
  handler: async (args) => {
    if (!args.all) throw new UsageError('say which clusters: kc delete clusters --all (or kc delete cluster --name NAME)');
    const progress = progressFor(args);
    const docker = engine();
    for (const name of await listClusterNames(docker)) {
      await progress.step(`Deleting cluster "${name}"`, async () => {
        await deleteCluster({ engine: docker, name });
      });
    }
  },
};
