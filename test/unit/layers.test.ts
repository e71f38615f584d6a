import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPCRUISE = `${ROOT}node_modules/.bin/depcruise`;
const CONFIG = `${ROOT}.dependency-cruiser.cjs`;

/** dependency-cruiser with kc's own rules over the `src` folder of `cwd`: its exit code and report. */
async function cruise(cwd: string): Promise<{ code: number; report: string }> {
  try {
    const { stdout } = await promisify(execFile)(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'err'], { cwd });
    return { code: 0, report: stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string };
    return { code: e.code ?? -1, report: e.stdout ?? '' };
  }
}

describe("the layer check (`npm run lint:deps`, part of npm test)", () => {
  it('fails on a cycle and on an upward import, naming both', async () => {
    const { code, report } = await cruise(`${ROOT}test/fixtures/layers`);
    expect(code).not.toBe(0);
    expect(report).toMatch(/no-circular: src\/util\/clock\.ts →\s+src\/util\/later\.ts/);
    expect(report).toContain('no-upward-import-from-model: src/model/plan.ts → src/cluster/create.ts');
    expect(report).toContain('2 dependency violations');
  }, 60_000);

  it('keeps the lifecycle commands apart, and the moves below the runner', async () => {
    const { code, report } = await cruise(`${ROOT}test/fixtures/lifecycle-apart`);
    expect(code).not.toBe(0);
    expect(report).toContain('lifecycle-commands-apart: src/cluster/lifecycle/add-node.ts → src/cluster/lifecycle/remove-node.ts');
    expect(report).toContain('moves-below-the-runner: src/cluster/lifecycle/moves/join.ts → src/cluster/lifecycle/runner.ts');
    expect(report).toContain('2 dependency violations');
  }, 60_000);

  it("passes on kc's own source", async () => {
    const { code, report } = await cruise(ROOT);
    expect(report).toContain('no dependency violations found');
    expect(code).toBe(0);
  }, 60_000);
});
