import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { LOCAL_ENGINE } from '../config/types.js';
import { LABEL_CLUSTER, LABEL_ROLE } from '../provider/provider.js';
import { describeAddons } from '../cluster/kube/addons.js';
import { listClusters } from '../cluster/ops/list.js';
import { nodeStatus } from '../cluster/ops/status.js';
import { allNodes } from '../model/plan.js';
import { loadState } from '../state/cluster-state.js';
import { certificateInventory, daysLeft } from '../pki/inventory.js';
import { existingState } from '../cluster/ops/kubeconfig.js';
import { checkedName } from './delete-cluster.js';
import { engineForCluster } from './engines.js';
import { engine, printTable, type GlobalOptions, type ListingOptions } from './options.js';
import { counted } from '../util/words.js';

interface GetClustersArgs extends GlobalOptions, ListingOptions {
  json: boolean;
}

/** `--no-headers`: tab-separated values even on a terminal (they always are when piped). */
const NO_HEADERS = { headers: { type: 'boolean', default: true, describe: 'A header row on a terminal (--no-headers: tab-separated values only, as when piped)' } } as const;

export const getClustersCommand: CommandModule<GlobalOptions, GetClustersArgs> = {
  command: 'clusters',
  describe: 'List kc clusters: whether each is running, stopped or partial, its nodes, and whether its add-ons are ready',
  builder: (yargs) => yargs.option('json', { type: 'boolean', default: false, describe: 'Print JSON' }).options(NO_HEADERS),
  handler: async (args) => {
    const clusters = await listClusters(engine(), engineForCluster);
    if (args.json) process.stdout.write(`${JSON.stringify(clusters)}\n`);
    else if (clusters.length === 0) process.stderr.write('No kc clusters found.\n');
    // Name first: `kc get clusters | cut -f1` lists the names.
    else printTable(args, ['NAME', 'STATUS', 'NODES', 'ADD-ONS'], clusters.map((c) => [c.name, c.status, counted(c.nodes, 'node'), describeAddons(c.addons)]));
    // An engine that did not answer: named with why, on stderr (the table stays one line per cluster).
    for (const c of args.json ? [] : clusters) {
      for (const u of c.unreachable ?? []) {
        process.stderr.write(`WARNING: cluster "${c.name}": engine "${u.engine}" did not answer, so the status of ${u.nodes.join(', ') || 'its nodes'} is unknown: ${u.problem}\n`);
      }
    }
  },
};

interface GetNodesArgs extends GlobalOptions, ListingOptions {
  name: string;
  json: boolean;
}

export const getNodesCommand: CommandModule<GlobalOptions, GetNodesArgs> = {
  command: 'nodes',
  describe: "List a cluster's node containers",
  builder: (yargs) =>
    yargs
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' })
      .options(NO_HEADERS),
  handler: async (args) => {
    const name = checkedName(args.name);
    const containers = await (await engineForCluster(name)).listNodes({ [LABEL_CLUSTER]: name });
    const plan = (await loadState(name).catch(() => undefined))?.plan;
    const addressOf = (node: string) => (plan ? allNodes(plan).find((n) => n.name === node)?.ip : undefined) ?? '';
    const nodes = containers
      .map((c) => ({ name: c.name, role: c.labels[LABEL_ROLE] ?? '', status: nodeStatus(c), ip: addressOf(c.name), engine: c.engine ?? LOCAL_ENGINE }))
      .sort((a, b) => a.name.localeCompare(b.name));
    if (args.json) {
      process.stdout.write(`${JSON.stringify(nodes)}\n`);
      return;
    }
    if (nodes.length === 0) {
      process.stderr.write(`No nodes found for cluster "${name}".\n`);
      return;
    }
    printTable(args, ['NAME', 'ROLE', 'STATUS', 'ADDRESS', 'ENGINE'], nodes.map((n) => [n.name, n.role, n.status, n.ip, n.engine]));
  },
};

interface GetCertificatesArgs extends GlobalOptions, ListingOptions {
  name: string;
  json: boolean;
}

export const getCertificatesCommand: CommandModule<GlobalOptions, GetCertificatesArgs> = {
  command: 'certificates',
  describe: "List a cluster's certificates: what each is for, the nodes that hold it, when it expires",
  builder: (yargs) =>
    yargs
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' })
      .options(NO_HEADERS),
  handler: async (args) => {
    const state = await existingState(checkedName(args.name));
    const now = new Date();
    const entries = certificateInventory(state.plan, state.pki).map((entry) => ({
      ...entry,
      notAfter: entry.notAfter.toISOString(),
      daysLeft: daysLeft(entry, now),
    }));
    if (args.json) {
      process.stdout.write(`${JSON.stringify(entries)}\n`);
      return;
    }
    // Soonest to expire first.
    printTable(args, ['NAME', 'SUBJECT', 'EXPIRES', 'LEFT', 'NODES', 'USE'], entries.map((e) => [e.name, e.subject, e.notAfter.slice(0, 10), `${e.daysLeft}d`, e.nodes.join(','), e.use]));
  },
};
