import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { listClusterNames } from '../cluster/ops/list.js';
import { startCluster, stopCluster, type StopStartOptions, type StopStartResult } from '../cluster/lifecycle/stop-start.js';
import { checkedName } from './delete-cluster.js';
import { enginesForCluster } from './engines.js';
import { checkedWaitSeconds, engine, interruptible, progressFor, UsageError, type GlobalOptions } from './options.js';
import { counted } from '../util/words.js';
import { describeAddons } from '../cluster/kube/addons.js';
import { certificateInventory, expiryWarning } from '../pki/inventory.js';
import { loadState } from '../state/cluster-state.js';

/** How long a start may take to become usable by default. */
const DEFAULT_START_WAIT_SECONDS = 300;

interface StopStartArgs extends GlobalOptions {
  name?: string;
  all: boolean;
  wait: number;
}

/** The clusters a stop or start applies to: --name (default "kc") or every cluster kc has state for. */
async function targets(args: StopStartArgs, verb: string): Promise<string[]> {
  if (args.all && args.name !== undefined) throw new UsageError(`say which clusters to ${verb}: --name NAME or --all, not both`);
  if (!args.all) return [checkedName(args.name ?? DEFAULT_CLUSTER_NAME)];
  const names = await listClusterNames(engine());
  if (names.length === 0) throw new UsageError(`no kc clusters to ${verb}`);
  return names;
}

function command(verb: 'stop' | 'start', run: (options: StopStartOptions) => Promise<StopStartResult>): CommandModule<GlobalOptions, StopStartArgs> {
  return {
    command: 'cluster',
    describe:
      verb === 'stop'
        ? 'Stop a cluster (every node at once): its data, addresses and API port stay'
        : 'Start a stopped cluster and wait until it is usable again',
    builder: (yargs) =>
      yargs
        .option('name', { type: 'string', describe: `Cluster name (default "${DEFAULT_CLUSTER_NAME}")` })
        .option('all', { type: 'boolean', default: false, describe: `${verb === 'stop' ? 'Stop' : 'Start'} every kc cluster` })
        // Only a start waits for something (the cluster to be usable again); a stop is done when its containers are.
        .option('wait', { type: 'number', default: DEFAULT_START_WAIT_SECONDS, describe: 'Seconds the start may take to become usable', hidden: verb === 'stop' }),
    handler: async (args) => {
      const waitSeconds = checkedWaitSeconds(args.wait, DEFAULT_START_WAIT_SECONDS);
      const progress = progressFor(args);
      for (const cluster of await targets(args, verb)) {
        progress.info(`${verb === 'stop' ? 'Stopping' : 'Starting'} cluster "${cluster}" ...`);
        const { engine: clusterEngine, registries } = await enginesForCluster(cluster);
        const result = await interruptible((signal) => run({ engine: clusterEngine, registries, progress, cluster, waitSeconds, signal }));
        progress.info(`${verb === 'stop' ? 'Stopped' : 'Started'} cluster "${cluster}": ${counted(result.nodes, 'node')} in ${result.seconds.toFixed(1)}s.`);
        if (result.settled) {
          progress.info(`   \`${result.settled.command}\` had stopped part-way: its change to ${result.settled.subject} was ${result.settled.outcome === 'done' ? 'finished' : 'taken back'}.`);
        }
        if (result.unfinished) progress.info(`   Still to do: ${result.unfinished}.`);
        if (result.addons && result.addons.length > 0) {
          const starting = result.addons.some((a) => a.status !== 'ready');
          progress.info(`   add-ons: ${describeAddons(result.addons)}${starting ? ' (kc get clusters shows when they are ready)' : ''}`);
        }
        if (verb === 'start') await warnOfExpiry(cluster);
      }
    },
  };
}

/** A cluster started after months asleep may hold certificates about to expire: say so, with what to run. */
async function warnOfExpiry(cluster: string): Promise<void> {
  const state = await loadState(cluster);
  const warning = state && expiryWarning(certificateInventory(state.plan, state.pki), new Date(), cluster);
  if (warning) process.stderr.write(`WARNING: ${warning}\n`);
}

export const stopClusterCommand = command('stop', stopCluster);
export const startClusterCommand = command('start', startCluster);
