import type { RunKubectl } from './addons.js';

/**
 * The leader-election leases of the control plane's own controllers: the
 * controller-manager (the endpoints, ReplicaSets, node lifecycle) and the
 * scheduler.
 */
export const CONTROL_PLANE_LEASES = ['kube-controller-manager', 'kube-scheduler'] as const;
const NAMESPACE = 'kube-system';

interface LeaseObject {
  metadata: { name: string; resourceVersion: string };
  spec?: { holderIdentity?: string; renewTime?: string };
}

/**
 * A holder that has not renewed its lease since `since` is gone (a holder
 * renews every 2 s): a lease that outlived a `kc stop`. Left alone, a new
 * controller-manager waits the lease's whole 15 s, counted from when it first
 * reads it (client-go trusts no other clock), before it takes over, and no
 * Service gets its restarted pods as endpoints until then: measured, a
 * LoadBalancer answered 26 s after `kc start` began, 9 s after the start was
 * done. (The scheduler gives its lease back as it stops; the controller-manager
 * does so only behind an alpha feature gate of v1.36.)
 */
export function staleHolder(lease: LeaseObject, since: number): boolean {
  const holder = lease.spec?.holderIdentity ?? '';
  const renewed = Date.parse(lease.spec?.renewTime ?? '');
  return holder !== '' && Number.isFinite(renewed) && renewed < since;
}

/**
 * Gives back the control plane's leases whose holders have been gone since
 * `since`, as a holder gives one back on a clean exit (no holder, a 1 s
 * term): the next candidate takes it at its next try, 2 s at most. The
 * resourceVersion makes it a compare-and-swap: a holder that renews first
 * keeps its lease. Returns the leases given back.
 */
export async function releaseStaleLeases(kubectl: RunKubectl, since: number): Promise<string[]> {
  const list = JSON.parse(await kubectl(['-n', NAMESPACE, 'get', 'leases', '-o', 'json'])) as { items: LeaseObject[] };
  const stale = list.items.filter((lease) => (CONTROL_PLANE_LEASES as readonly string[]).includes(lease.metadata.name) && staleHolder(lease, since));
  const released: string[] = [];
  for (const lease of stale) {
    const patch = { metadata: { resourceVersion: lease.metadata.resourceVersion }, spec: { holderIdentity: '', leaseDurationSeconds: 1 } };
    // A conflict means its holder (or a new one) wrote it first: it is not stale after all.
    const given = await kubectl(['-n', NAMESPACE, 'patch', 'lease', lease.metadata.name, '--type=merge', '-p', JSON.stringify(patch)]).then(() => true, () => false);
    if (given) released.push(lease.metadata.name);
  }
  return released;
}
