import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { packInMemory } from '../util/tar-gz.js';

/**
 * The file `kc snapshot save` writes: a gzipped tar of etcd's own snapshot
 * (`etcd.db`, which etcdutl and etcdctl read as it is) and `kc-snapshot.json`,
 * which says where it came from and its checksum. Versioned like the state:
 * a newer kc's file is refused with what to do.
 */
export const SNAPSHOT_FORMAT_VERSION = 1;
export const SNAPSHOT_DB_ENTRY = 'etcd.db';
export const SNAPSHOT_MANIFEST_ENTRY = 'kc-snapshot.json';

export interface SnapshotManifest {
  formatVersion: typeof SNAPSHOT_FORMAT_VERSION;
  cluster: string;
  /** SHA-256 of the cluster CA's certificate: a snapshot belongs with the CA that signed its data's tokens. */
  caFingerprint: string;
  /** The node image the cluster ran (its Kubernetes version). */
  image: string;
  /** The master whose etcd member wrote it. */
  takenFrom: string;
  takenAt: string;
  /** SHA-256 and size of `etcd.db`. */
  sha256: string;
  size: number;
  /** etcd's revision and key count at the time, as `etcdutl snapshot status` reports them. */
  revision: number;
  totalKeys: number;
}

/** A snapshot file kc cannot use: names the file, what is wrong and what to do. */
export class SnapshotFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`snapshot ${file} ${problem}`);
    this.name = 'SnapshotFileError';
  }
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Pure: the snapshot file's bytes for a manifest and etcd's snapshot. */
export async function packSnapshot(manifest: SnapshotManifest, db: Buffer): Promise<Buffer> {
  const mtime = new Date(manifest.takenAt);
  const archive = await packInMemory((pack) => {
    pack.entry({ name: SNAPSHOT_MANIFEST_ENTRY, mode: 0o644, mtime }, `${JSON.stringify(manifest, null, 2)}\n`);
    pack.entry({ name: SNAPSHOT_DB_ENTRY, mode: 0o600, mtime }, db);
  });
  return gzipSync(archive);
}

async function tarEntries(archive: Buffer): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  Readable.from([archive]).pipe(extract);
  const entries = new Map<string, Buffer>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    if (entry.header.type === 'file') entries.set(entry.header.name, Buffer.concat(chunks));
  }
  return entries;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Pure: the manifest's JSON checked field by field (a hand-edited or truncated file is named, not trusted). */
export function parseSnapshotManifest(text: string, file: string): SnapshotManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new SnapshotFileError(file, `has a ${SNAPSHOT_MANIFEST_ENTRY} that is not JSON: it is damaged; take a new snapshot with \`kc snapshot save\``);
  }
  if (!isRecord(raw)) throw new SnapshotFileError(file, `has a ${SNAPSHOT_MANIFEST_ENTRY} that is not a JSON object`);
  const version = raw.formatVersion;
  if (typeof version === 'number' && version > SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotFileError(file, `was written by a newer kc (format ${version}; this kc reads up to ${SNAPSHOT_FORMAT_VERSION}): restore it with that kc, or upgrade this one`);
  }
  if (version !== SNAPSHOT_FORMAT_VERSION) throw new SnapshotFileError(file, `has an unknown formatVersion ${JSON.stringify(version)}`);
  for (const [field, type] of Object.entries({ cluster: 'string', caFingerprint: 'string', image: 'string', takenFrom: 'string', takenAt: 'string', sha256: 'string', size: 'number', revision: 'number', totalKeys: 'number' })) {
    if (typeof raw[field] !== type) throw new SnapshotFileError(file, `has no ${type} "${field}" in ${SNAPSHOT_MANIFEST_ENTRY}`);
  }
  return raw as unknown as SnapshotManifest;
}

/**
 * Pure: the manifest and etcd's snapshot out of a snapshot file, with the
 * snapshot's checksum checked against the manifest's.
 */
export async function unpackSnapshot(archive: Buffer, file: string): Promise<{ manifest: SnapshotManifest; db: Buffer }> {
  let entries: Map<string, Buffer>;
  try {
    entries = await tarEntries(gunzipSync(archive));
  } catch {
    throw new SnapshotFileError(file, 'is not a kc snapshot (a gzipped tar written by `kc snapshot save`)');
  }
  const manifestText = entries.get(SNAPSHOT_MANIFEST_ENTRY);
  const db = entries.get(SNAPSHOT_DB_ENTRY);
  if (!manifestText || !db) throw new SnapshotFileError(file, `lacks ${manifestText ? SNAPSHOT_DB_ENTRY : SNAPSHOT_MANIFEST_ENTRY}: it is not a whole kc snapshot`);
  const manifest = parseSnapshotManifest(manifestText.toString('utf8'), file);
  const actual = sha256Hex(db);
  if (actual !== manifest.sha256 || db.length !== manifest.size) {
    throw new SnapshotFileError(file, `is damaged: ${SNAPSHOT_DB_ENTRY} has SHA-256 ${actual} (${db.length} bytes), its manifest says ${manifest.sha256} (${manifest.size} bytes)`);
  }
  return { manifest, db };
}

/**
 * Pure: whether a snapshot may be restored into a cluster, which knows its
 * CAs by `ownCaFingerprints` (its CA first, then any it rotated away from).
 * One from another cluster (another CA) is refused unless the user says so: its service
 * account tokens, secrets and node objects belong to that cluster.
 */
export function snapshotMismatch(manifest: SnapshotManifest, cluster: string, ownCaFingerprints: readonly string[]): string | undefined {
  if (ownCaFingerprints.includes(manifest.caFingerprint)) return undefined;
  const current = ownCaFingerprints[0] ?? '';
  return (
    `was taken from cluster "${manifest.cluster}" (CA ${manifest.caFingerprint.slice(0, 23)}…), not from "${cluster}" (CA ${current.slice(0, 23)}…): ` +
    `its service account tokens and node objects belong to that cluster. Restore it there, or add --from-other-cluster to restore it into "${cluster}" anyway`
  );
}
