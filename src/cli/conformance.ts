import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { DEFAULT_SOURCE, SOURCE_CHOICES, type SourceChoice } from '../artifacts/resolve.js';
import { prepareConformance, runConformance } from '../conformance/run.js';
import { summaryLine } from '../conformance/report.js';
import { selectTests, SelectionError, type Selection } from '../conformance/selection.js';
import { checkedName } from './delete-cluster.js';
import { engine, progressFor, UsageError, type GlobalOptions } from './options.js';

interface ConformanceArgs extends GlobalOptions {
  focus?: string;
  skip?: string;
  full: boolean;
  name?: string;
  procs: number;
  'report-dir': string;
  source: SourceChoice;
  retain: boolean;
  timeout: number;
  'build-only': boolean;
}

function selectionFrom(args: ConformanceArgs): Selection {
  try {
    return selectTests({ focus: args.focus, skip: args.skip, full: args.full });
  } catch (error) {
    if (error instanceof SelectionError) throw new UsageError(error.message);
    throw error;
  }
}

function positiveWhole(flag: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new UsageError(`--${flag} ${value} is out of range: give a whole number from 1 to ${max}`);
  }
  return value;
}

export const conformanceCommand: CommandModule<GlobalOptions, ConformanceArgs> = {
  command: 'conformance',
  describe: "Run Kubernetes' own e2e tests (the cluster's version) against a kc cluster, offline",
  builder: (yargs) =>
    yargs
      .option('focus', { type: 'string', describe: 'Run the tests whose names match this regular expression (default: the CI subset)' })
      .option('skip', { type: 'string', describe: 'Also skip tests matching this (Serial, Disruptive and Flaky ones always are)' })
      .option('full', { type: 'boolean', default: false, describe: 'Every conformance test that can run in parallel' })
      .option('name', { type: 'string', describe: 'Test this existing cluster (default: create one, delete it after)' })
      .option('procs', { type: 'number', default: 3, describe: 'Tests run at once (parallel Ginkgo processes)' })
      .option('report-dir', { type: 'string', default: '_conformance', describe: 'Folder for junit.xml, report.json, e2e.log' })
      .option('source', { choices: SOURCE_CHOICES, default: DEFAULT_SOURCE, describe: 'Where the e2e suite comes from: release, source or auto' })
      .option('retain', { type: 'boolean', default: false, describe: 'Keep the cluster the run created' })
      .option('build-only', { type: 'boolean', default: false, describe: 'Build (or fetch) the suite and its test images, then stop: no cluster, no test' })
      .option('timeout', { type: 'number', default: 180, describe: 'Minutes the tests may take in all' }),
  handler: async (args) => {
    if (args['build-only']) {
      const runFlags = [
        args.focus !== undefined && '--focus',
        args.skip !== undefined && '--skip',
        args.name !== undefined && '--name',
        args.full && '--full',
        args.retain && '--retain',
      ].filter((flag): flag is string => typeof flag === 'string');
      if (runFlags.length > 0) {
        throw new UsageError(`--build-only runs no test and makes no cluster: leave out ${runFlags.join(', ')}, or drop --build-only to run the tests`);
      }
      const progress = progressFor(args);
      await prepareConformance({ engine: engine(), progress, source: args.source });
      progress.info('The conformance suite and its test images are ready.');
      return;
    }
    const selection = selectionFrom(args);
    const cluster = args.name === undefined ? undefined : checkedName(args.name);
    const progress = progressFor(args);
    const result = await runConformance({
      engine: engine(),
      progress,
      selection,
      cluster,
      procs: positiveWhole('procs', args.procs, 32),
      reportDir: resolve(args['report-dir']),
      source: args.source,
      retain: args.retain,
      timeoutMinutes: positiveWhole('timeout', args.timeout, 24 * 60),
    });
    for (const failure of result.failures) progress.info(`FAILED: ${failure.name}\n        ${failure.firstError}`);
    progress.info(`Reports: ${result.reportDir}/junit.xml, report.json; full log: ${result.logFile}`);
    process.stdout.write(`${summaryLine(result)}\n`);
    if (result.failed > 0 || result.passed === 0) {
      process.exitCode = 1;
      if (result.passed === 0 && result.failed === 0) process.stderr.write('ERROR: no test ran: check --focus and --skip against the test names\n');
    }
  },
};
