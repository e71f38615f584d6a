import type { Argv } from 'yargs';
import { DockerEngine } from '../provider/docker/engine.js';
import { UsageError } from '../util/errors.js';
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

export { UsageError };
