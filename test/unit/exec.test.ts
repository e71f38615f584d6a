import { describe, expect, it } from 'vitest';
import { CommandError, run } from '../../src/util/exec.js';

describe('running a program', () => {
  it('returns its output', async () => {
    expect(await run('sh', ['-c', 'cat; echo done'], { input: 'in\n' })).toBe('in\ndone\n');
  });

  it('survives a program that exits without reading its input (EPIPE)', async () => {
    for (let i = 0; i < 20; i++) expect(await run('true', [], { input: 'x'.repeat(4 * 1024 * 1024) })).toBe('');
    await expect(run('false', [], { input: 'x'.repeat(4 * 1024 * 1024) })).rejects.toBeInstanceOf(CommandError);
  });
});
