import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../src/util/poll.js';
import { Deadline } from '../../src/util/deadline.js';

describe('one deadline for a whole create', () => {
  it('gives each wait only what is left of it', () => {
    const deadline = new Deadline(600, '--wait 600', 1_000_000);
    expect(deadline.remainingMs(1_000_000)).toBe(600_000);
    expect(deadline.remainingMs(1_000_000 + 599_000)).toBe(1_000);
    expect(deadline.remainingMs(1_000_000 + 700_000)).toBe(0);
  });

  it('ends a wait when the whole budget is spent, and says it was the budget for the whole create', async () => {
    const deadline = new Deadline(0.2, '--wait 0.2');
    await expect(waitUntil('the API server', async () => 'HTTP 503', { deadline, intervalMs: 20 })).rejects.toThrow(
      'timed out (--wait 0.2: 0.2s for the whole create) waiting for the API server; last seen: HTTP 503',
    );
    // The next wait of the same create has nothing left: it checks once, then gives up.
    let checks = 0;
    await expect(waitUntil('CoreDNS', async () => (checks++, 'no replica'), { deadline, intervalMs: 20 })).rejects.toThrow(/timed out/);
    expect(checks).toBe(1);
  });

  it('keeps a wait\'s own shorter limit, and passes as soon as the check does', async () => {
    const deadline = new Deadline(600, '--wait 600');
    await expect(waitUntil('HAProxy', async () => 'inactive', { deadline, timeoutMs: 50, intervalMs: 10 })).rejects.toThrow(
      /^timed out after 0s waiting for HAProxy; last seen: inactive$/,
    );
    let calls = 0;
    await waitUntil('etcd', async () => ++calls >= 3 || 'unhealthy', { deadline, intervalMs: 1 });
    expect(calls).toBe(3);
  });
});

describe('time spent waiting', () => {
  it('counts overlapping waits once, and separate ones each', () => {
    const deadline = new Deadline(600, '--wait 600', 0);
    deadline.recordWait(1_000, 3_000);
    deadline.recordWait(2_000, 4_000);
    deadline.recordWait(10_000, 11_000);
    deadline.recordWait(500, 1_200);
    expect(deadline.waitedMs()).toBe(4_500);
  });

  it('records each waitUntil of a create, passed or not', async () => {
    const deadline = new Deadline(600, '--wait 600');
    let calls = 0;
    await waitUntil('etcd', async () => ++calls >= 3 || 'unhealthy', { deadline, intervalMs: 20 });
    expect(deadline.waitedMs()).toBeGreaterThanOrEqual(35);
  });
});
