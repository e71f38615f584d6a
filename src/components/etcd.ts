import { trustedCaPem } from '../pki/ca-rotation.js';
import type { ClusterPlan, NodePlan } from '../model/plan.js';
import type { ClusterPki } from '../pki/types.js';
import { PATHS } from './paths.js';
import type { ComponentBundle } from './types.js';
import { componentFlags, unitFile } from './unit.js';
import { UNIT } from './units.js';

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

/** The etcd files on a master: `ca.crt`, `server.{crt,key}` (also etcdctl's client pair), `peer.{crt,key}`. */
export const ETCD_FILES = {
  ca: `${PATHS.etcdPki}/ca.crt`,
  serverCert: `${PATHS.etcdPki}/server.crt`,
  serverKey: `${PATHS.etcdPki}/server.key`,
  peerCert: `${PATHS.etcdPki}/peer.crt`,
  peerKey: `${PATHS.etcdPki}/peer.key`,
} as const;

/** The member on the same master, as its API server and etcdctl there reach it. */
export const LOCAL_ETCD_URL = `https://127.0.0.1:${ETCD_CLIENT_PORT}`;

export function etcdClientUrl(master: NodePlan): string {
  return `https://${master.name}:${ETCD_CLIENT_PORT}`;
}

export function etcdPeerUrl(master: NodePlan): string {
  return `https://${master.name}:${ETCD_PEER_PORT}`;
}

export function etcdClientUrls(plan: ClusterPlan): string {
  return plan.masters.map(etcdClientUrl).join(',');
}

/**
 * etcdctl on a master, talking to every member (or the given endpoints) with
 * that master's server pair (issued for client use too), followed by `args`.
 */
export function etcdctlCommand(plan: ClusterPlan, args: string[], endpoints: string = etcdClientUrls(plan)): string[] {
  return [
    'etcdctl',
    `--endpoints=${endpoints}`,
    `--cacert=${ETCD_FILES.ca}`,
    `--cert=${ETCD_FILES.serverCert}`,
    `--key=${ETCD_FILES.serverKey}`,
    ...args,
  ];
}

/**
 * One etcd member per master. Members advertise and find each other by node
 * name, never by address: names are stable across container restarts, and
 * so membership stays valid. Listen addresses must be IPs (etcd's rule).
 * A master that joined a running cluster starts as an `existing` member of
 * the membership it was added to (etcd reads the initial-cluster flags only
 * on a member's first start, with an empty data dir).
 */
export function etcdBundle(plan: ClusterPlan, master: NodePlan, pki: ClusterPki): ComponentBundle {
  const server = pki.etcdServer[master.name];
  const peer = pki.etcdPeer[master.name];
  if (!server || !peer) throw new Error(`internal: no etcd certificates for ${master.name}`);
  const initialCluster = plan.masters.map((m) => `${m.name}=${etcdPeerUrl(m)}`).join(',');
  const command = [
    `${PATHS.bin}/etcd`,
    ...componentFlags(plan.spec, 'etcd', {
      name: master.name,
      'data-dir': PATHS.etcdData,
      'listen-client-urls': `https://${master.ip}:${ETCD_CLIENT_PORT},https://127.0.0.1:${ETCD_CLIENT_PORT}`,
      'advertise-client-urls': etcdClientUrl(master),
      'listen-peer-urls': `https://${master.ip}:${ETCD_PEER_PORT}`,
      'initial-advertise-peer-urls': etcdPeerUrl(master),
      'initial-cluster': initialCluster,
      'initial-cluster-token': `kc-${plan.spec.name}`,
      'initial-cluster-state': master.joined ? 'existing' : 'new',
      'client-cert-auth': true,
      'trusted-ca-file': ETCD_FILES.ca,
      'cert-file': ETCD_FILES.serverCert,
      'key-file': ETCD_FILES.serverKey,
      'peer-client-cert-auth': true,
      'peer-trusted-ca-file': ETCD_FILES.ca,
      'peer-cert-file': ETCD_FILES.peerCert,
      'peer-key-file': ETCD_FILES.peerKey,
      // Metrics and health on plain HTTP, loopback only: nothing secret, no certificate needed to probe.
      'listen-metrics-urls': 'http://127.0.0.1:2381',
    }),
  ];
  return {
    files: [
      { path: ETCD_FILES.ca, content: trustedCaPem(pki) },
      { path: ETCD_FILES.serverCert, content: server.certPem },
      { path: ETCD_FILES.serverKey, content: server.keyPem, mode: 0o600 },
      { path: ETCD_FILES.peerCert, content: peer.certPem },
      { path: ETCD_FILES.peerKey, content: peer.keyPem, mode: 0o600 },
      unitFile(UNIT.etcd, { description: 'etcd: the cluster store', command, type: 'notify' }),
    ],
    units: [UNIT.etcd],
  };
}

/** Where a snapshot sits on a master while it is taken or restored (next to the data: same disk, same space). */
export const ETCD_SNAPSHOT_ON_NODE = `${PATHS.etcdData}/kc-snapshot.db`;
/** Where a restore keeps a master's data from before it, until the next restore. */
export const ETCD_DATA_BEFORE_RESTORE = `${PATHS.etcdData}/member.before-restore`;
/** Which restore set that data aside: its token. An undo puts back only what its own restore set aside. */
export const ETCD_RESTORE_MARK = `${PATHS.etcdData}/kc-restore-token`;

/** etcdctl on `master`, asking its own member for a snapshot (a snapshot is taken from exactly one member). */
export function etcdSnapshotSaveCommand(plan: ClusterPlan, master: NodePlan): string[] {
  return etcdctlCommand(plan, ['snapshot', 'save', ETCD_SNAPSHOT_ON_NODE], etcdClientUrl(master));
}

/** etcdutl's report of a snapshot file: revision, key count and size, as JSON. */
export function etcdSnapshotStatusCommand(path: string = ETCD_SNAPSHOT_ON_NODE): string[] {
  return ['etcdutl', 'snapshot', 'status', path, '-w', 'json'];
}

/**
 * Kubernetes' advice for a restore: raise the revision well past any a
 * client has seen and mark it compacted, so every watch (kubelets,
 * controllers, CoreDNS) fails and lists again instead of trusting a cache
 * newer than the data.
 */
const RESTORE_REVISION_BUMP = 1_000_000_000;

/**
 * A shell script that turns the snapshot on `master` into its etcd data
 * (etcd stopped): a member of a new etcd cluster of every master (a fresh
 * cluster ID and token; the same names and peer URLs), the old data kept
 * aside. Pure, so its every line is tested.
 */
export function etcdRestoreScript(plan: ClusterPlan, master: NodePlan, token: string): string {
  const initialCluster = plan.masters.map((m) => `${m.name}=${etcdPeerUrl(m)}`).join(',');
  const scratch = `${PATHS.etcdData}/kc-restore`;
  return [
    'set -eu',
    `rm -rf ${scratch}`,
    [
      'etcdutl snapshot restore',
      ETCD_SNAPSHOT_ON_NODE,
      `--data-dir=${scratch}`,
      `--name=${master.name}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=${token}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl(master)}`,
      `--bump-revision=${RESTORE_REVISION_BUMP}`,
      '--mark-compacted',
    ].join(' '),
    `rm -rf ${ETCD_DATA_BEFORE_RESTORE}`,
    // Marked before the data moves: from here on, this restore's undo knows the data aside is its own.
    `echo '${token}' > ${ETCD_RESTORE_MARK}`,
    `if [ -d ${PATHS.etcdData}/member ]; then mv ${PATHS.etcdData}/member ${ETCD_DATA_BEFORE_RESTORE}; fi`,
    `mv ${scratch}/member ${PATHS.etcdData}/member`,
    `rm -rf ${scratch} ${ETCD_SNAPSHOT_ON_NODE}`,
  ].join('\n');
}

/**
 * Takes the restore of `token` back on one master (etcd stopped): its data
 * from before returns, if that restore set it aside (a master whose restore
 * never got that far, or that kept data of an earlier restore aside, is
 * left as it is). A master that had no data before keeps the restored data:
 * an empty data dir would make etcd found a new, empty cluster. Running it
 * twice changes nothing more.
 */
export function etcdUnrestoreScript(token: string): string {
  return [
    'set -eu',
    `if [ "$(cat ${ETCD_RESTORE_MARK} 2>/dev/null)" = '${token}' ]; then`,
    `  if [ -d ${ETCD_DATA_BEFORE_RESTORE} ]; then rm -rf ${PATHS.etcdData}/member && mv ${ETCD_DATA_BEFORE_RESTORE} ${PATHS.etcdData}/member; fi`,
    `  rm -f ${ETCD_RESTORE_MARK}`,
    'fi',
    `rm -rf ${PATHS.etcdData}/kc-restore ${ETCD_SNAPSHOT_ON_NODE}`,
  ].join('\n');
}
