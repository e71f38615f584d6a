import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { adminEntry, existingState, exportKubeconfig } from '../cluster/ops/kubeconfig.js';
import { contextName, defaultKubeconfigPath } from '../state/kubeconfig-file.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import { checkedName } from './delete-cluster.js';
import { progressFor, type GlobalOptions } from './options.js';

interface GetKubeconfigArgs extends GlobalOptions {
  name: string;
  internal: boolean;
}

export const getKubeconfigCommand: CommandModule<GlobalOptions, GetKubeconfigArgs> = {
  command: 'kubeconfig',
  describe: "Print the cluster's admin kubeconfig",
  builder: (yargs) =>
    yargs
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .option('internal', { type: 'boolean', default: false, describe: 'Address the API server as containers on the cluster network do' }),
  handler: async (args) => {
    process.stdout.write(renderKubeconfig(adminEntry(await existingState(checkedName(args.name)), args.internal)));
  },
};

interface ExportKubeconfigArgs extends GlobalOptions {
  name: string;
  kubeconfig?: string;
}

export const exportKubeconfigCommand: CommandModule<GlobalOptions, ExportKubeconfigArgs> = {
  command: 'kubeconfig',
  describe: "Merge the cluster's admin context into a kubeconfig file",
  builder: (yargs) =>
    yargs
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .option('kubeconfig', { type: 'string', describe: 'File to write (default: $KUBECONFIG or ~/.kube/config)' }),
  handler: async (args) => {
    const name = checkedName(args.name);
    const path = args.kubeconfig ?? defaultKubeconfigPath();
    await exportKubeconfig(name, path);
    progressFor(args).info(`Set kubectl context to "${contextName(name)}" in ${path}`);
  },
};
