import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { addNodes, MAX_NODES_PER_ADD } from '../cluster/lifecycle/add-node.js';
import { removeNodes } from '../cluster/lifecycle/remove-node.js';
import type { ChangeableRole } from '../model/plan.js';
import { checkedName } from './delete-cluster.js';
import { engineForCluster } from './engines.js';
import { checkedWaitSeconds, interruptible, progressFor, type GlobalOptions } from './options.js';

/** How long a node change may take by default: a master's etcd catch-up and a worker's drain draw on it. */
const DEFAULT_NODE_WAIT_SECONDS = 300;

interface CreateNodeArgs extends GlobalOptions {
  name: string;
  role: ChangeableRole;
  count: number;
  engine?: string;
  wait: number;
}

export const createNodeCommand: CommandModule<GlobalOptions, CreateNodeArgs> = {
  command: 'node',
  describe: 'Add masters or workers to a running cluster',
  builder: (yargs) =>
    yargs
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .option('role', { choices: ['worker', 'master'] as const, demandOption: 'say which: --role worker or --role master', describe: 'What the new nodes are' })
      .option('count', { type: 'number', default: 1, describe: `How many nodes to add (1 to ${MAX_NODES_PER_ADD})` })
      .option('engine', { type: 'string', describe: "The engine the nodes go to, on a cluster across engines (default: each slot's own, as the config placed it)" })
      .option('wait', { type: 'number', default: DEFAULT_NODE_WAIT_SECONDS, describe: 'Seconds the whole command may take, one deadline for every wait' })
      .example('$0 create node --role worker', 'add a worker to cluster "kc"')
      .example('$0 create node --role master --name dev', 'add a third master (etcd member, API server, HAProxy backend)'),
  handler: async (args) => {
    const cluster = checkedName(args.name);
    const progress = progressFor(args);
    const waitSeconds = checkedWaitSeconds(args.wait, DEFAULT_NODE_WAIT_SECONDS);
    const engine = await engineForCluster(cluster);
    const result = await interruptible((signal) => addNodes({ engine, progress, cluster, role: args.role, count: args.count, onEngine: args.engine, waitSeconds, signal }));
    progress.info(`Added ${result.added.join(', ')} to cluster "${cluster}" (${result.seconds.map((s) => `${s.toFixed(1)}s`).join(', ')}).`);
  },
};

interface DeleteNodeArgs extends GlobalOptions {
  name: string;
  nodes?: string[];
  wait: number;
  force: boolean;
}

export const deleteNodeCommand: CommandModule<GlobalOptions, DeleteNodeArgs> = {
  command: 'node <nodes..>',
  describe: 'Remove masters or workers from a running cluster (workers are drained first)',
  builder: (yargs) =>
    yargs
      .positional('nodes', { type: 'string', array: true, describe: 'Node names, e.g. kc-worker-1 (kc get nodes lists them)' })
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .option('wait', { type: 'number', default: DEFAULT_NODE_WAIT_SECONDS, describe: 'Seconds the whole command may take, one deadline for every wait (drains included)' })
      .option('force', {
        type: 'boolean',
        default: false,
        describe: "Remove a master even if etcd loses its quorum; delete a worker's pods that no controller recreates",
      }),
  handler: async (args) => {
    const cluster = checkedName(args.name);
    const progress = progressFor(args);
    const started = Date.now();
    const waitSeconds = checkedWaitSeconds(args.wait, DEFAULT_NODE_WAIT_SECONDS);
    const engine = await engineForCluster(cluster);
    const removed = await interruptible((signal) => removeNodes({ engine, progress, cluster, nodes: args.nodes ?? [], waitSeconds, force: args.force, signal }));
    progress.info(`Removed ${removed.join(', ')} from cluster "${cluster}" (${((Date.now() - started) / 1000).toFixed(1)}s).`);
  },
};
