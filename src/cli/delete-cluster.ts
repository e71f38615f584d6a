import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { validateClusterName, ValidationError } from '../config/validate.js';
import { deleteCluster } from '../cluster/ops/delete.js';
import { listClusterNames } from '../cluster/ops/list.js';
import { enginesForCluster } from './engines.js';
import { engine, progressFor, UsageError, type GlobalOptions } from './options.js';
import { counted } from '../util/words.js';

interface DeleteClusterArgs extends GlobalOptions {
  name: string;
  kubeconfig?: string;
}

/** A cluster name from the command line; `field` names where it came from in the error. */
export function checkedName(name: string, field = '--name'): string {
  try {
    return validateClusterName(name, field);
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(error.message);
    throw error;
  }
}

function deletedSummary(result: Awaited<ReturnType<typeof deleteCluster>>): string {
  const summary = result.containers + result.networks === 0 && !result.state ? 'nothing to delete' : counted(result.containers, 'container');
  const registry = result.registry === 'removed' ? ["the registry's container, its last user (its images stay: kc delete registry removes them)"] : result.registry === 'kept' ? ['the registry stays for other clusters'] : [];
  return [summary, ...registry, ...result.warnings].join('; ');
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
      const result = await deleteCluster({ ...(await enginesForCluster(name)), name, kubeconfigPath: args.kubeconfig });
      note(deletedSummary(result));
    });
  },
};

interface DeleteClustersArgs extends GlobalOptions {
  names?: string[];
  all: boolean;
  kubeconfig?: string;
}

export const deleteClustersCommand: CommandModule<GlobalOptions, DeleteClustersArgs> = {
  command: 'clusters [names..]',
  describe: 'Delete several clusters by name, or every kc cluster with --all',
  builder: (yargs) =>
    yargs
      .positional('names', { type: 'string', array: true, describe: 'Cluster names' })
      .option('all', { type: 'boolean', default: false, describe: 'Delete every kc cluster' })
      .option('kubeconfig', { type: 'string', describe: 'Kubeconfig file to remove the contexts from' }),
  handler: async (args) => {
    const named = (args.names ?? []).map((name) => checkedName(name, 'cluster name'));
    if (args.all === named.length > 0) {
      throw new UsageError('say which clusters: kc delete clusters NAME... or kc delete clusters --all (not both)');
    }
    const progress = progressFor(args);
    const docker = engine();
    for (const name of args.all ? await listClusterNames(docker) : named) {
      await progress.step(`Deleting cluster "${name}"`, async (note) => {
        const result = await deleteCluster({ ...(await enginesForCluster(name)), name, kubeconfigPath: args.kubeconfig });
        note(deletedSummary(result));
      });
    }
  },
};
