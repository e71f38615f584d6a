import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { rotateCertificates } from '../cluster/lifecycle/rotate-certificates.js';
import { checkedName } from './delete-cluster.js';
import { engineForCluster } from './engines.js';
import { checkedWaitSeconds, interruptible, progressFor, type GlobalOptions } from './options.js';

/** How long a rotation may take: each node's restart and readiness draw on it. */
const DEFAULT_ROTATE_WAIT_SECONDS = 300;
/** A CA rotation is three rollouts and two restarts of the add-ons. */
const DEFAULT_CA_ROTATE_WAIT_SECONDS = 900;

interface RotateArgs extends GlobalOptions {
  name: string;
  ca: boolean;
  wait?: number;
}

export const rotateCertificatesCommand: CommandModule<GlobalOptions, RotateArgs> = {
  command: 'certificates',
  describe: "Issue every certificate again (with --ca, from a new CA) and roll them out one node at a time, the API answering throughout",
  builder: (yargs) =>
    yargs
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .option('ca', { type: 'boolean', default: false, describe: 'A new CA as well: trusted beside the old one everywhere, then signing every certificate, then the only one' })
      .option('wait', {
        type: 'number',
        defaultDescription: `${DEFAULT_ROTATE_WAIT_SECONDS}, with --ca ${DEFAULT_CA_ROTATE_WAIT_SECONDS}`,
        describe: 'Seconds the rotation may take, one deadline for every wait',
      })
      .example('$0 rotate certificates', 'renew every certificate of cluster "kc"')
      .example('$0 rotate certificates --ca', 'replace the CA of cluster "kc" and every certificate it signed'),
  handler: async (args) => {
    const cluster = checkedName(args.name);
    const progress = progressFor(args);
    progress.info(`Rotating the ${args.ca ? 'CA and the ' : ''}certificates of cluster "${cluster}" ...`);
    const engine = await engineForCluster(cluster);
    const waitSeconds = waitSecondsOf(args);
    const result = await interruptible((signal) => rotateCertificates({ engine, progress, cluster, ca: args.ca, waitSeconds, signal }));
    const what = result.ca ? `the CA (now ${result.ca}) and ${result.certificates} certificates` : `${result.certificates} certificates`;
    progress.info(`Rotated ${what} of cluster "${cluster}" in ${result.seconds.toFixed(1)}s; \`kc get certificates --name ${cluster}\` lists them.`);
    if (result.ca) {
      progress.info(
        "   kc's kubeconfig files and add-ons trust the new CA. Restart pods of your own that call the API server with a client that reads its CA only at start " +
          `(kubectl rollout restart), and export a kubeconfig again wherever you copied one (kc get kubeconfig --name ${cluster}).`,
      );
    }
  },
};

function waitSecondsOf(args: RotateArgs): number {
  const fallback = args.ca ? DEFAULT_CA_ROTATE_WAIT_SECONDS : DEFAULT_ROTATE_WAIT_SECONDS;
  return args.wait === undefined ? fallback : checkedWaitSeconds(args.wait, fallback);
}
