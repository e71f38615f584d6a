import { describe, expect, it } from 'vitest';
import { releaseStaleLeases, staleHolder } from '../../src/cluster/kube/leases.js';

const START = Date.parse('2026-12-07T22:52:00Z');
const lease = (name: string, holder: string, renewTime: string, resourceVersion = '7') => ({
  metadata: { name, resourceVersion },
  spec: { holderIdentity: holder, renewTime },
});

/** kubectl on a master: answers `get leases` with `items`, records patches, refuses those `conflicts` names. */
function fakeKubectl(items: object[], conflicts: string[] = []) {
  const patches: string[][] = [];
  const run = async (args: string[]) => {
    if (args.includes('get')) return JSON.stringify({ items });
    patches.push(args);
    const name = args[args.indexOf('lease') + 1] ?? '';
    if (conflicts.includes(name)) throw new Error(`Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified`);
    return 'patched';
  };
  return { run, patches };
}

describe('leases a stopped control plane held', () => {
  it('are stale when their holder has not renewed since the start began; a lease with no holder, or renewed since, is not', () => {
    expect(staleHolder(lease('kube-controller-manager', 'm0_1', '2026-12-07T22:51:40.5Z'), START)).toBe(true);
    expect(staleHolder(lease('kube-controller-manager', 'm0_2', '2026-12-07T22:52:03.1Z'), START)).toBe(false);
    expect(staleHolder(lease('kube-scheduler', '', '2026-12-07T22:51:40Z'), START)).toBe(false);
    expect(staleHolder({ metadata: { name: 'x', resourceVersion: '1' } }, START)).toBe(false);
  });

  it('are given back as a clean exit does (no holder, a 1 s term), only at the version read, and only the control plane\'s', async () => {
    const kubectl = fakeKubectl([
      lease('kube-controller-manager', 'm0_1', '2026-12-07T22:51:40Z', '41'),
      lease('kube-scheduler', 'm1_1', '2026-12-07T22:52:02Z'),
      lease('some-operator', 'pod-1', '2026-12-07T22:51:40Z'),
    ]);
    expect(await releaseStaleLeases(kubectl.run, START)).toEqual(['kube-controller-manager']);
    expect(kubectl.patches).toHaveLength(1);
    const patch = kubectl.patches[0] ?? [];
    expect(patch.slice(0, 5)).toEqual(['-n', 'kube-system', 'patch', 'lease', 'kube-controller-manager']);
    expect(JSON.parse(patch[patch.length - 1] ?? '')).toEqual({ metadata: { resourceVersion: '41' }, spec: { holderIdentity: '', leaseDurationSeconds: 1 } });
  });

  it('stay with a holder that renewed between the read and the patch (a conflict), without failing the start', async () => {
    const kubectl = fakeKubectl([lease('kube-controller-manager', 'm0_1', '2026-12-07T22:51:40Z')], ['kube-controller-manager']);
    expect(await releaseStaleLeases(kubectl.run, START)).toEqual([]);
  });
});
