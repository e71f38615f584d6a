import type { Argv } from 'yargs';
import { DockerEngine } from '../provider/docker/engine.js';
import { UsageError } from '../util/errors.js';
import { formatTable } from '../util/table.js';
import { listenForInterrupts } from '../util/interrupt.js';
import { createProgress, type Progress, type Verbosity } from '../util/progress.js';

/** Options every command accepts. */
export interface GlobalOptions {
  quiet?: boolean;
  verbose?: boolean;
}

export function withGlobalOptions<T>(yargs: Argv<T>): Argv<T & GlobalOptions> {
  return yargs
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Print only errors and results', global: true })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'Print more detail', global: true })
    .conflicts('quiet', 'verbose');
}

export function verbosity(options: GlobalOptions): Verbosity {
  if (options.quiet) return 'quiet';
  return options.verbose ? 'verbose' : 'normal';
}

export function progressFor(options: GlobalOptions): Progress {
  return createProgress(verbosity(options));
}

export function engine(): DockerEngine {
  return new DockerEngine();
}

/** A `--wait` of lifecycle commands: a positive number of seconds, or a usage error showing the default. */
export function checkedWaitSeconds(wait: number, example: number): number {
  if (!Number.isFinite(wait) || wait <= 0) throw new UsageError(`--wait ${wait} is not a number of seconds: give a positive number, e.g. --wait ${example}`);
  return wait;
}

/**
 * Runs a command's pipeline with Ctrl-C and SIGTERM raised as its signal: it
 * stops at its next safe point and records where (a second Ctrl-C ends kc at
 * once). The handlers go when the pipeline ends.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const listening = listenForInterrupts();
  try {
    return await work(listening.signal);
  } finally {
    listening.stop();
  }
}

export { UsageError };

/** `--no-headers` of the `kc get` listings. */
export interface ListingOptions {
  headers: boolean;
}

/** Prints a listing: a header row and lined-up columns on a terminal, tab-separated values elsewhere (see formatTable). */
export function printTable(options: ListingOptions, headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const forPeople = options.headers && Boolean(process.stdout.isTTY);
  process.stdout.write(`${formatTable(headers, rows, forPeople)}\n`);
}

/** A `--registry-port`: a TCP port, or a usage error showing one. */
export function checkedRegistryPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--registry-port ${String(port)} is not a port number: give one from 1 to 65535, e.g. --registry-port 5001`);
  }
  return port;
}
