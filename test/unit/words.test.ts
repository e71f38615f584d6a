import { describe, expect, it } from 'vitest';
import { counted } from '../../src/util/words.js';

describe('counted', () => {
  it('says one in the singular, any other count in the plural', () => {
    expect(`${counted(1, 'master')}, ${counted(1, 'worker')}`).toBe('1 master, 1 worker');
    expect(counted(2, 'master')).toBe('2 masters');
    expect(counted(0, 'container')).toBe('0 containers');
    expect(counted(3, 'child', 'children')).toBe('3 children');
  });
});
