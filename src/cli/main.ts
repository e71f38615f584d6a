import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CommandError } from '../util/exec.js';
import { wasInterrupted } from '../util/interrupt.js';
import { buildNodeImageCommand } from './build-node-image.js';
import { completionCommand } from './completion.js';
import { conformanceCommand } from './conformance.js';
import { createClusterCommand } from './create-cluster.js';
import { deleteClusterCommand, deleteClustersCommand } from './delete-cluster.js';
import { exportLogsCommand } from './export-logs.js';
import { getCertificatesCommand, getClustersCommand, getNodesCommand } from './get.js';
import { deleteRegistryCommand, getRegistriesCommand } from './registry.js';
import { exportKubeconfigCommand, exportKubectlCommand, getKubeconfigCommand } from './kubeconfig.js';
import { loadDockerImageCommand, loadImageArchiveCommand, loadRegistryCommand } from './load.js';
import { UsageError, withGlobalOptions } from './options.js';
import { createNodeCommand, deleteNodeCommand } from './node-commands.js';
import { rotateCertificatesCommand } from './rotate.js';
import { upgradeClusterCommand } from './upgrade.js';
import { restoreSnapshotCommand, saveSnapshotCommand } from './snapshot.js';
import { startClusterCommand, stopClusterCommand } from './stop-start.js';
import { versionCommand } from './version.js';

/** Prints an error the way a user can act on it, and sets a non-zero exit code. */
function reportError(error: unknown): void {
  if (error instanceof CommandError && error.outputTail) {
    process.stderr.write(`ERROR: ${error.message}\n--- last lines of output ---\n${error.outputTail}\n`);
  } else if (error instanceof Error) {
    process.stderr.write(`ERROR: ${error.message}\n`);
    if (process.env.KC_DEBUG && !(error instanceof UsageError)) process.stderr.write(`${error.stack ?? ''}\n`);
  } else {
    process.stderr.write(`ERROR: ${String(error)}\n`);
  }
  // 130: what a shell reports for a command that Ctrl-C ended.
  process.exitCode = wasInterrupted(error) ? 130 : error instanceof UsageError ? 2 : 1;
}

export async function main(argv: string[] = hideBin(process.argv)): Promise<void> {
  const cli = withGlobalOptions(yargs(argv))
    .scriptName('kc')
    // Options are read by their dashed names only; without this, an unknown
    // --some-flag is reported twice (some-flag, someFlag).
    .parserConfiguration({ 'camel-case-expansion': false })
    .usage('kc: highly available Kubernetes clusters from Docker containers\n\nUsage: $0 <command> [options]')
    .command('build', 'Build images', (y) => y.command(buildNodeImageCommand).demandCommand(1, 'Say what to build: kc build node-image'))
    .command('create', 'Create a cluster, or add nodes to one', (y) =>
      y.command(createClusterCommand).command(createNodeCommand).demandCommand(1, 'Say what to create: kc create cluster or kc create node'),
    )
    .command('delete', 'Delete clusters, nodes, or a registry and its images', (y) =>
      y
        .command(deleteClusterCommand)
        .command(deleteClustersCommand)
        .command(deleteRegistryCommand)
        .command(deleteNodeCommand)
        .demandCommand(1, 'Say what to delete: kc delete cluster, kc delete clusters, kc delete node or kc delete registry'),
    )
    .command('stop', 'Stop a cluster, keeping its data', (y) => y.command(stopClusterCommand).demandCommand(1, 'Say what to stop: kc stop cluster'))
    .command('start', 'Start a stopped cluster', (y) => y.command(startClusterCommand).demandCommand(1, 'Say what to start: kc start cluster'))
    .command('get', 'List clusters, nodes, kubeconfigs, certificates, registries', (y) =>
      y
        .command(getClustersCommand)
        .command(getNodesCommand)
        .command(getKubeconfigCommand)
        .command(getCertificatesCommand)
        .command(getRegistriesCommand)
        .demandCommand(1, 'Say what to get: clusters, nodes, kubeconfig, certificates or registries'),
    )
    .command('export', 'Export kubeconfigs, kubectl and logs', (y) =>
      y.command(exportKubeconfigCommand).command(exportKubectlCommand).command(exportLogsCommand).demandCommand(1, 'Say what to export: kc export kubeconfig, kc export kubectl or kc export logs'),
    )
    .command('load', "Load images into the nodes, or into kc's registry", (y) =>
      y
        .command(loadDockerImageCommand)
        .command(loadImageArchiveCommand)
        .command(loadRegistryCommand)
        .demandCommand(1, 'Say what to load: docker-image, image-archive or registry'),
    )
    .command('upgrade', 'Move a running cluster to a newer Kubernetes version', (y) => y.command(upgradeClusterCommand).demandCommand(1, 'Say what to upgrade: kc upgrade cluster --kubernetes-version VERSION'))
    .command('rotate', 'Renew credentials of a running cluster', (y) => y.command(rotateCertificatesCommand).demandCommand(1, 'Say what to rotate: kc rotate certificates'))
    .command('snapshot', "Back up and restore a cluster's etcd", (y) =>
      y.command(saveSnapshotCommand).command(restoreSnapshotCommand).demandCommand(1, 'Say what to do: kc snapshot save FILE or kc snapshot restore FILE'),
    )
    .command(conformanceCommand)
    .command(versionCommand)
    .command(completionCommand)
    .demandCommand(1, 'Say what to do; kc --help lists the commands')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((message, error) => {
      throw error ?? new UsageError(message);
    });
  try {
    await cli.parseAsync();
  } catch (error) {
    reportError(error);
  }
}
