import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { adminEntry, contextName, defaultKubeconfigPath, mergeIntoKubeconfigFile } from '../cluster/kubeconfig-file.js';
import { loadState, saveState, type ClusterState } from '../cluster/state.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import { checkedName } from './delete-cluster.js';
import { progressFor, UsageError, type GlobalOptions } from './options.js';

async function stateOf(name: string): Promise<ClusterState> {
  const state = await loadState(checkedName(name));
  if (!state) throw new UsageError(`no cluster named "${name}": kc get clusters lists them`);
  return state;
}

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
    process.stdout.write(renderKubeconfig(adminEntry(await stateOf(args.name), args.internal)));
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
    const state = await stateOf(args.name);
    const path = args.kubeconfig ?? defaultKubeconfigPath();
    await mergeIntoKubeconfigFile(path, adminEntry(state, false));
    if (state.kubeconfigPath !== path) await saveState({ ...state, kubeconfigPath: path });
    progressFor(args).info(`Set kubectl context to "${contextName(state.plan.spec.name)}" in ${path}`);
  },
};
