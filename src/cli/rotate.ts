import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { rotateCertificates } from '../cluster/lifecycle/rotate-certificates.js';
import { checkedName } from './delete-cluster.js';
import { engineForCluster } from './engines.js';
import { checkedWaitSeconds, progressFor, type GlobalOptions } from './options.js';

/** How long a rotation may take: each node's restart and readiness draw on it. */
const DEFAULT_ROTATE_WAIT_SECONDS = 300;

interface RotateArgs extends GlobalOptions {
  name: string;
  ca: boolean;
  wait: number;
}

export const rotateCertificatesCommand: CommandModule<GlobalOptions, RotateArgs> = {
  command: 'certificates',
  describe: "Issue every certificate again from the cluster's CA and roll them out one node at a time, the API answering throughout",
  builder: (yargs) =>
    yargs
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .option('ca', { type: 'boolean', default: false, describe: 'A new CA as well (not supported yet)' })
      .option('wait', { type: 'number', default: DEFAULT_ROTATE_WAIT_SECONDS, describe: 'Seconds the rotation may take, one deadline for every wait' })
      .example('$0 rotate certificates', 'renew every certificate of cluster "kc"'),
  handler: async (args) => {
    const cluster = checkedName(args.name);
    const progress = progressFor(args);
    progress.info(`Rotating the certificates of cluster "${cluster}" ...`);
    const result = await rotateCertificates({ engine: await engineForCluster(cluster), progress, cluster, ca: args.ca, waitSeconds: checkedWaitSeconds(args.wait, DEFAULT_ROTATE_WAIT_SECONDS) });
    progress.info(`Rotated ${result.certificates} certificates of cluster "${cluster}" in ${result.seconds.toFixed(1)}s; \`kc get certificates --name ${cluster}\` lists them.`);
  },
};
