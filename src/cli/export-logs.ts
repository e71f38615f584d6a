import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { DEFAULT_CLUSTER_NAME } from '../config/defaults.js';
import { LABEL_CLUSTER } from '../provider/provider.js';
import { defaultLogsDir, exportLogs } from '../cluster/ops/logs.js';
import { loadState, StateFileError } from '../state/cluster-state.js';
import { writeTarGz } from '../util/tar-gz.js';
import { checkedName } from './delete-cluster.js';
import { engineForCluster } from './engines.js';
import { progressFor, UsageError, type GlobalOptions } from './options.js';
import { counted } from '../util/words.js';
import { awaitAll } from '../util/concurrent.js';

interface ExportLogsArgs extends GlobalOptions {
  dir?: string;
  name: string;
}

/** Entries of a folder; undefined when it does not exist. */
async function entriesOf(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw new UsageError(`${dir} exists and is not a folder: name another one`);
    throw error;
  }
}

export const exportLogsCommand: CommandModule<GlobalOptions, ExportLogsArgs> = {
  command: 'logs [dir]',
  describe: "Collect every node's journals, units and pod logs, and the cluster's events, pods and nodes, into DIR and DIR.tar.gz",
  builder: (yargs) =>
    yargs
      .positional('dir', { type: 'string', describe: 'Folder to write (default: ./kc-logs-<name>-<UTC time>); must not exist or be empty' })
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name' }),
  handler: async (args) => {
    const name = checkedName(args.name);
    const docker = await engineForCluster(name);
    await docker.ensureReachable();
    const progress = progressFor(args);
    // Logs are for debugging: an unreadable state file is one more thing to report, not a reason to collect nothing.
    const readableState = loadState(name).catch((error: unknown) => {
      if (!(error instanceof StateFileError)) throw error;
      progress.info(`note: ${error.message}`);
      return undefined;
    });
    const [nodes, state] = await awaitAll([docker.listNodes({ [LABEL_CLUSTER]: name }), readableState]);
    if (nodes.length === 0 && !state) throw new UsageError(`no cluster named "${name}": kc get clusters lists them`);
    nodes.sort((a, b) => a.name.localeCompare(b.name));

    const dir = resolve(args.dir ?? defaultLogsDir(name));
    const tarball = `${dir}.tar.gz`;
    const existing = await entriesOf(dir);
    if (existing && existing.length > 0) throw new UsageError(`${dir} is not empty: name a new folder (or leave DIR out)`);

    try {
      const results = await progress.step(`Collecting logs of cluster "${name}" from ${counted(nodes.length, 'node')}`, async (note) => {
        const collected = await exportLogs({ engine: docker, nodes, state, dir });
        const failed = collected.reduce((sum, r) => sum + r.errors, 0);
        if (failed > 0) note(`${counted(failed, 'problem')}, see errors.txt`);
        return collected;
      });
      await progress.step(`Writing ${tarball}`, () => writeTarGz(dir, tarball));
      for (const r of results.filter((r) => r.errors > 0)) {
        progress.info(`${r.node}: not everything could be collected; see ${join(dir, r.node, 'errors.txt')}`);
      }
    } catch (error) {
      // Something failed outside the nodes (the disk, the Docker engine): leave nothing half-written.
      await rm(tarball, { force: true }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      if (existing) await mkdir(dir, { recursive: true }).catch(() => undefined);
      throw error;
    }
    process.stdout.write(`${dir}\n${tarball}\n`);
  },
};
