import { describe, expect, it } from 'vitest';
import { formatTable } from '../../src/util/table.js';

describe('listings', () => {
  const rows = [['dev', 'running', '5 nodes', 'storage ready, metrics-server starting'], ['ci', 'stopped', '3 nodes', '']];

  it('lines columns up under a header row for a person at a terminal', () => {
    expect(formatTable(['NAME', 'STATUS', 'NODES', 'ADD-ONS'], rows, true).split('\n')).toEqual([
      'NAME   STATUS    NODES     ADD-ONS',
      'dev    running   5 nodes   storage ready, metrics-server starting',
      'ci     stopped   3 nodes',
    ]);
  });

  it('gives a program tab-separated values and no header', () => {
    expect(formatTable(['NAME', 'STATUS', 'NODES', 'ADD-ONS'], rows, false)).toBe('dev\trunning\t5 nodes\tstorage ready, metrics-server starting\nci\tstopped\t3 nodes');
  });
});
