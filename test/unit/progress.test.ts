import { describe, expect, it } from 'vitest';
import { createProgress, type Verbosity } from '../../src/util/progress.js';
import { capturedStream } from './helpers.js';


async function runSteps(verbosity: Verbosity): Promise<string> {
  const out = capturedStream();
  const progress = createProgress(verbosity, out.stream);
  await progress.step('Starting nodes', async (note) => {
    progress.detail('kc-master-0: 3 files');
    note('2 masters');
  });
  await expect(progress.step('Starting etcd', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  progress.info('done');
  return out.text();
}

describe('progress output', () => {
  it('prints one plain line per step with a check mark, its note and its time when not on a terminal', async () => {
    const text = await runSteps('normal');
    expect(text).toMatch(/^ • Starting nodes \.\.\.\n ✓ Starting nodes \(2 masters\) \d+\.\ds\n/);
    expect(text).toMatch(/ ✗ Starting etcd \d+\.\ds\n/);
    expect(text).toContain('done\n');
  });

  it('shows details only with --verbose', async () => {
    expect(await runSteps('normal')).not.toContain('kc-master-0: 3 files');
    expect(await runSteps('verbose')).toContain('   kc-master-0: 3 files\n');
  });

  it('prints nothing with --quiet, but still runs the steps and reports failures', async () => {
    expect(await runSteps('quiet')).toBe('');
  });
});
