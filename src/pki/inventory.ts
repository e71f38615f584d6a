import type { ClusterPlan } from '../model/plan.js';
import { parseCertificate } from './certs.js';
import type { CertKey, ClusterPki } from './types.js';

/** One certificate of a cluster: what it is for, where it lives, and when it expires. */
export interface CertificateEntry {
  /** kc's name for it (`etcd-server`, `kubelet`, ...). */
  name: string;
  /** Its subject's common name. */
  subject: string;
  /** What it is used for, in a few words. */
  use: string;
  /** The nodes that hold it; `host` is the user's kubeconfig. */
  nodes: string[];
  notAfter: Date;
}

const DAY_MS = 86_400_000;

/** Whole days from `now` until `entry` expires (negative once it has). */
export function daysLeft(entry: Pick<CertificateEntry, 'notAfter'>, now: Date): number {
  return Math.floor((entry.notAfter.getTime() - now.getTime()) / DAY_MS);
}

/**
 * Pure: every certificate of a cluster's PKI (the service-account key pair
 * and the encryption key are keys, not certificates), with the nodes it was
 * given to, soonest to expire first.
 */
export function certificateInventory(plan: ClusterPlan, pki: ClusterPki): CertificateEntry[] {
  const masters = plan.masters.map((m) => m.name);
  const workers = plan.workers.map((w) => w.name);
  const entries: CertificateEntry[] = [];
  const add = (name: string, pair: CertKey, use: string, nodes: string[]) => {
    const cert = parseCertificate(pair.certPem);
    entries.push({ name, subject: cert.subject.commonName ?? '', use, nodes, notAfter: cert.notAfter });
  };
  add('ca', pki.ca, 'the cluster CA: signs every certificate below', ['host', ...masters, ...workers]);
  // Only while `kc rotate certificates --ca` runs: first the next CA, then the previous one (their subjects tell them apart).
  if (pki.overlapCa) add('ca-overlap', pki.overlapCa, 'trusted beside the cluster CA until the CA rotation finishes', ['host', ...masters, ...workers]);
  add('front-proxy-ca', pki.frontProxyCa, 'CA of the aggregation layer\'s request headers', masters);
  add('admin', pki.admin, 'client: kc\'s admin user (kubeconfig, kubectl on masters)', ['host', ...masters]);
  add('kube-apiserver', pki.apiServer, 'serving: the API servers of the founding masters', masters.filter((m) => !pki.apiServerByNode?.[m]));
  for (const [node, pair] of Object.entries(pki.apiServerByNode ?? {})) add('kube-apiserver', pair, 'serving: the API server of a master added later', [node]);
  add('apiserver-kubelet-client', pki.apiServerKubeletClient, 'client: API servers to kubelets (logs, exec)', masters);
  add('front-proxy-client', pki.frontProxyClient, 'client: API servers to aggregated APIs', masters);
  add('etcd-client', pki.etcdClient, 'client: API servers and etcdctl to etcd', masters);
  for (const [node, pair] of Object.entries(pki.etcdServer)) add('etcd-server', pair, 'serving: etcd\'s clients', [node]);
  for (const [node, pair] of Object.entries(pki.etcdPeer)) add('etcd-peer', pair, 'etcd members to each other', [node]);
  add('kube-controller-manager', pki.kubeControllerManager, 'client: the controller-manager', masters);
  add('kube-scheduler', pki.kubeScheduler, 'client: the scheduler', masters);
  add('kube-proxy', pki.kubeProxy, 'client: kube-proxy', [...masters, ...workers]);
  add('kube-router', pki.kubeRouter, 'client: kube-router\'s policy controller', workers);
  for (const [node, pair] of Object.entries(pki.kubelets)) add('kubelet', pair, 'client and serving: the kubelet', [node]);
  return entries.sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime() || a.name.localeCompare(b.name));
}

/** How soon an expiry is worth a warning at create and start. */
export const EXPIRY_WARNING_DAYS = 30;

/** Pure: a warning naming the certificates that expire within EXPIRY_WARNING_DAYS of `now`, or undefined. */
export function expiryWarning(entries: readonly CertificateEntry[], now: Date, cluster: string): string | undefined {
  const soon = entries.filter((entry) => daysLeft(entry, now) < EXPIRY_WARNING_DAYS);
  if (soon.length === 0) return undefined;
  const listed = soon.map((entry) => `${entry.name} (${entry.nodes.join(', ')}): ${daysLeft(entry, now) < 0 ? 'expired' : `${daysLeft(entry, now)} days left`}`);
  return `certificates of cluster "${cluster}" expire within ${EXPIRY_WARNING_DAYS} days: ${listed.join('; ')}. See them with \`kc get certificates --name ${cluster}\`.`;
}
