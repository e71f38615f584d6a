import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summarizeReport } from '../../src/conformance/report.js';
import { CI_SUBSET } from '../../src/conformance/selection.js';
import { clusterResources } from './cluster-helpers.js';
import { KC_BIN } from './helpers.js';

/** Runs kc with its output streamed into the test log as it comes (the suite takes minutes). */
function kcStreaming(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(KC_BIN, args, { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      process.stderr.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

let reportDir: string;

describe("Kubernetes' own conformance tests (the CI subset) against a default kc cluster", () => {
  afterAll(async () => {
    await rm(reportDir, { recursive: true, force: true });
  });

  it('passes every selected test, and leaves no cluster behind', async () => {
    reportDir = await mkdtemp(join(tmpdir(), 'kc-conformance-'));
    const { code, output } = await kcStreaming(['conformance', '--report-dir', reportDir]);
    const summary = summarizeReport(await readFile(join(reportDir, 'report.json'), 'utf8'));
    expect(summary.failures, output.slice(-4000)).toEqual([]);
    // Every name in the subset ran: a renamed upstream test would otherwise silently drop out.
    expect(summary.passed).toBe(CI_SUBSET.length);
    expect(code).toBe(0);
    expect(output).toMatch(new RegExp(`^${CI_SUBSET.length} passed, 0 failed, \\d+ skipped$`, 'm'));
    expect(await clusterResources('conformance')).toEqual({ containers: 0, networks: 0, volumes: 0 });
    // A cold machine first builds the suite from its Go module (about 2 minutes on 2 cores after the node image: they share the Go build cache).
  }, 90 * 60_000);
});
