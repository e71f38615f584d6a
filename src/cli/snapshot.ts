import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { restoreSnapshot, saveSnapshot } from '../cluster/lifecycle/snapshot.js';
import { checkedName } from './delete-cluster.js';
import { engineForCluster } from './engines.js';
import { checkedWaitSeconds, interruptible, progressFor, type GlobalOptions } from './options.js';

/** How long a restore may take to have every node Ready again. */
const DEFAULT_RESTORE_WAIT_SECONDS = 300;

interface SnapshotArgs extends GlobalOptions {
  file: string;
  name: string;
}

interface RestoreArgs extends SnapshotArgs {
  wait: number;
  'from-other-cluster': boolean;
}

export const saveSnapshotCommand: CommandModule<GlobalOptions, SnapshotArgs> = {
  command: 'save <file>',
  describe: "Write a snapshot of the cluster's etcd (every object, Secrets included) to a new file",
  builder: (yargs) =>
    yargs
      .positional('file', { type: 'string', demandOption: true, describe: 'The file to write (must not exist yet)' })
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .example('$0 snapshot save before-upgrade.snap', 'back up cluster "kc"'),
  handler: async (args) => {
    const cluster = checkedName(args.name);
    const progress = progressFor(args);
    const file = resolve(args.file);
    const engine = await engineForCluster(cluster);
    const manifest = await interruptible((signal) => saveSnapshot({ engine, progress, cluster, file, signal }));
    progress.info(`Saved cluster "${cluster}" at etcd revision ${manifest.revision} to ${file} (SHA-256 of etcd.db ${manifest.sha256}).`);
  },
};

export const restoreSnapshotCommand: CommandModule<GlobalOptions, RestoreArgs> = {
  command: 'restore <file>',
  describe: 'Bring a cluster back to a snapshot: objects made since are gone, every node Ready again',
  builder: (yargs) =>
    yargs
      .positional('file', { type: 'string', demandOption: true, describe: 'A file `kc snapshot save` wrote' })
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .option('wait', { type: 'number', default: DEFAULT_RESTORE_WAIT_SECONDS, describe: 'Seconds the restore may take, until every node is Ready' })
      .option('from-other-cluster', { type: 'boolean', default: false, describe: 'Restore a snapshot taken from another cluster (another CA)' })
      .example('$0 snapshot restore before-upgrade.snap', 'bring cluster "kc" back to the snapshot'),
  handler: async (args) => {
    const cluster = checkedName(args.name);
    const progress = progressFor(args);
    const file = resolve(args.file);
    progress.info(`Restoring cluster "${cluster}" from ${file} ...`);
    const waitSeconds = checkedWaitSeconds(args.wait, DEFAULT_RESTORE_WAIT_SECONDS);
    const engine = await engineForCluster(cluster);
    const result = await interruptible((signal) => restoreSnapshot({ engine, progress, cluster, file, waitSeconds, fromOtherCluster: args['from-other-cluster'], signal }));
    progress.info(`Restored cluster "${cluster}" to etcd revision ${result.manifest.revision} (taken ${result.manifest.takenAt}) in ${result.seconds.toFixed(1)}s.`);
  },
};
