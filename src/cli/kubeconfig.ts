import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { resolve } from 'node:path';
import { adminEntry, existingState, exportKubeconfig } from '../cluster/ops/kubeconfig.js';
import { exportKubectl } from '../cluster/ops/export-kubectl.js';
import { engineForCluster } from './engines.js';
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

interface ExportKubectlArgs extends GlobalOptions {
  name: string;
  dir: string;
}

export const exportKubectlCommand: CommandModule<GlobalOptions, ExportKubectlArgs> = {
  command: 'kubectl [dir]',
  describe: "Write the cluster's own kubectl (of its Kubernetes version) into a folder",
  builder: (yargs) =>
    yargs
      .positional('dir', { type: 'string', default: '.', describe: 'Folder to write kubectl into (made if missing)' })
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' }),
  handler: async (args) => {
    const name = checkedName(args.name);
    const state = await existingState(name);
    const exported = await exportKubectl(await engineForCluster(name), state, resolve(args.dir));
    const from = 'node' in exported.from ? exported.from.node : "kc's cache";
    progressFor(args).info(`Wrote kubectl ${exported.version} (from ${from}) to ${exported.path}`);
    if (args.quiet) process.stdout.write(`${exported.path}\n`);
  },
};
