import type { CommandModule } from 'yargs';
import { supportedVersions } from '../artifacts/manifest.js';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { upgradeCluster } from '../cluster/lifecycle/upgrade.js';
import { checkedName } from './delete-cluster.js';
import { engineForCluster } from './engines.js';
import { checkedWaitSeconds, interruptible, progressFor, type GlobalOptions } from './options.js';

/** How long the whole upgrade may take: every node replaced, and the add-ons (about two minutes a node on a busy machine). */
const DEFAULT_UPGRADE_WAIT_SECONDS = 1800;

interface UpgradeArgs extends GlobalOptions {
  name: string;
  'kubernetes-version': string;
  wait: number;
}

export const upgradeClusterCommand: CommandModule<GlobalOptions, UpgradeArgs> = {
  command: 'cluster',
  describe: 'Upgrade a running cluster to the next Kubernetes minor, one node at a time, the API answering throughout',
  builder: (yargs) =>
    yargs
      .option('kubernetes-version', { type: 'string', demandOption: true, describe: `Version to upgrade to (${supportedVersions()}): one minor up at a time` })
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .option('wait', { type: 'number', default: DEFAULT_UPGRADE_WAIT_SECONDS, describe: 'Seconds the whole upgrade may take, one deadline for every wait (a first build of the node image does not count)' })
      .example('$0 upgrade cluster --kubernetes-version v1.37.2', 'masters first, then workers; run it again to continue after a failure'),
  handler: async (args) => {
    const cluster = checkedName(args.name);
    const progress = progressFor(args);
    const to = args['kubernetes-version'];
    progress.info(`Upgrading cluster "${cluster}" to Kubernetes ${to} ...`);
    const waitSeconds = checkedWaitSeconds(args.wait, DEFAULT_UPGRADE_WAIT_SECONDS);
    const engine = await engineForCluster(cluster);
    const result = await interruptible((signal) => upgradeCluster({ engine, progress, cluster, kubernetesVersion: to, waitSeconds, signal }));
    if (result.alreadyThere) {
      progress.info(`Cluster "${cluster}" runs Kubernetes ${to} already: nothing to do.`);
      return;
    }
    const perNode = Object.entries(result.nodeSeconds).map(([node, seconds]) => `${node} ${seconds.toFixed(1)}s`).join(', ');
    progress.info(`Cluster "${cluster}" runs Kubernetes ${result.to} (from ${result.from}) in ${result.seconds.toFixed(1)}s: ${perNode}.`);
  },
};
