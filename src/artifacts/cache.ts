import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Artifact } from './manifest.js';

export type ArtifactSource = 'release' | 'source';

/** What a finished cache entry records about itself; its presence marks the entry complete. */
export interface CacheRecord {
  name: string;
  version: string;
  source: ArtifactSource;
  /** Binary name → sha256 of the file as cached. */
  binaries: Record<string, string>;
  /** How long producing it took, for the note and the benchmark. */
  seconds: number;
}

export interface CacheEntry {
  record: CacheRecord;
  /** Folder holding the binaries. */
  binDir: string;
}

const RECORD_FILE = 'artifact.json';

/**
 * A source build linked as one multi-call binary is laid out differently
 * from one built binary by binary: its own folder, so a cache made before
 * (or by another kc) is neither mistaken for it nor overwritten.
 */
function entryFolder(artifact: Pick<Artifact, 'source'>, source: ArtifactSource): string {
  const multiCall = source === 'source' && artifact.source.kind === 'go' && artifact.source.multiCall;
  return multiCall ? 'source-multicall' : source;
}

/** One folder per artifact, version and source: a second build finds it and does nothing. */
export class ArtifactCache {
  constructor(readonly root: string) {}

  entryDir(artifact: Pick<Artifact, 'name' | 'version' | 'source'>, source: ArtifactSource): string {
    return join(this.root, 'artifacts', artifact.name, artifact.version, entryFolder(artifact, source));
  }

  /** The complete cache entry, or undefined when absent or incomplete (a crash mid-write leaves no record). */
  async lookup(artifact: Artifact, source: ArtifactSource): Promise<CacheEntry | undefined> {
    const dir = this.entryDir(artifact, source);
    let record: CacheRecord;
    try {
      record = JSON.parse(await readFile(join(dir, RECORD_FILE), 'utf8')) as CacheRecord;
    } catch {
      return undefined;
    }
    const binDir = join(dir, 'bin');
    for (const binary of artifact.binaries) {
      if (!record.binaries[binary] || !(await isFile(join(binDir, binary)))) return undefined;
    }
    return { record, binDir };
  }

  /**
   * Produces an entry in a scratch folder (called under the entry's lock, see
   * resolveArtifact) and moves it into place only when
   * `produce` succeeded, so a failed or corrupted download is never cached.
   */
  async store(
    artifact: Artifact,
    source: ArtifactSource,
    produce: (binDir: string) => Promise<void>,
  ): Promise<CacheEntry> {
    const dir = this.entryDir(artifact, source);
    const scratch = `${dir}.partial-${process.pid}`;
    await removeLeftovers(dir);
    await mkdir(join(scratch, 'bin'), { recursive: true });
    const started = Date.now();
    try {
      await produce(join(scratch, 'bin'));
      const binaries: Record<string, string> = {};
      for (const binary of artifact.binaries) {
        const path = join(scratch, 'bin', binary);
        if (!(await isFile(path))) throw new Error(`${artifact.name} ${artifact.version}: ${binary} was not produced`);
        binaries[binary] = await sha256File(path);
      }
      const record: CacheRecord = {
        name: artifact.name,
        version: artifact.version,
        source,
        binaries,
        seconds: Math.round((Date.now() - started) / 100) / 10,
      };
      await writeFile(join(scratch, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
      await rm(dir, { recursive: true, force: true });
      await rename(scratch, dir);
      return { record, binDir: join(dir, 'bin') };
    } catch (error) {
      await rm(scratch, { recursive: true, force: true });
      throw error;
    }
  }
}

/** Scratch folders of producers that were killed (they cannot clean up): the caller holds the entry's lock, so none is in use. */
async function removeLeftovers(dir: string): Promise<void> {
  const prefix = `${basename(dir)}.partial-`;
  const siblings = await readdir(dirname(dir)).catch(() => [] as string[]);
  await Promise.all(siblings.filter((name) => name.startsWith(prefix)).map((name) => rm(join(dirname(dir), name), { recursive: true, force: true })));
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
