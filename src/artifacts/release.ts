import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { Artifact, Checksum, ReleaseSource } from './manifest.js';

/** The release site could not be reached at all: the caller may build from source instead. */
export class ReleaseUnreachableError extends Error {
  constructor(readonly url: string, cause: string) {
    super(`cannot reach ${url}: ${cause}`);
    this.name = 'ReleaseUnreachableError';
  }
}

/** The download does not match its checksum: corrupted or tampered with, never used. */
export class ChecksumMismatchError extends Error {
  constructor(readonly url: string, readonly expected: string, readonly actual: string) {
    super(
      `checksum mismatch for ${url}: expected sha256 ${expected}, got ${actual}. ` +
        'The download is corrupted or was tampered with; it was discarded. Try again, or use --source source.',
    );
    this.name = 'ChecksumMismatchError';
  }
}

export type Fetch = typeof fetch;

export interface ReleaseOptions {
  fetchImpl?: Fetch;
  /** Give up on a host that does not answer within this time. */
  timeoutMs?: number;
}

const NETWORK_ERROR_CODES = new Set([
  'ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET',
]);

function networkFailure(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code && NETWORK_ERROR_CODES.has(cause.code)) return cause.code;
  return undefined;
}

async function get(url: string, options: ReleaseOptions): Promise<Response> {
  const fetchImpl = options.fetchImpl ?? fetch;
  let response: Response;
  try {
    response = await fetchImpl(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 15 * 60_000) });
  } catch (error) {
    const failure = networkFailure(error);
    if (failure) throw new ReleaseUnreachableError(url, failure);
    throw error;
  }
  if (response.status >= 500) throw new ReleaseUnreachableError(url, `HTTP ${response.status}`);
  if (!response.ok || !response.body) throw new Error(`download of ${url} failed: HTTP ${response.status}`);
  return response;
}

/** Reads a checksum file: either a bare digest or `digest  filename` lines (sha256sum format). */
export function digestFromChecksumFile(text: string, fileName: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  for (const line of lines) {
    const [digest, name] = line.split(/\s+/);
    if (!digest || !/^[0-9a-f]{64}$/i.test(digest)) continue;
    if (name === undefined || basename(name.replace(/^\*/, '')) === fileName) return digest.toLowerCase();
  }
  return undefined;
}

async function expectedDigest(checksum: Checksum, url: string, options: ReleaseOptions): Promise<string> {
  if ('sha256' in checksum) return checksum.sha256.toLowerCase();
  const text = await (await get(checksum.sha256Url, options)).text();
  const digest = digestFromChecksumFile(text, basename(new URL(url).pathname));
  if (!digest) throw new Error(`${checksum.sha256Url} has no sha256 for ${basename(url)}`);
  return digest;
}

/** Streams a download to a file, hashing as it goes. Returns the sha256. */
async function download(url: string, path: string, options: ReleaseOptions): Promise<string> {
  const response = await get(url, options);
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(response.body as never), hashing, createWriteStream(path));
  return hash.digest('hex');
}

/** Extracts the named entries of a .tar.gz into binDir under their new names. */
async function extractEntries(archive: string, wanted: Record<string, string>, binDir: string): Promise<void> {
  const extract = tar.extract();
  const found = new Set<string>();
  extract.on('entry', (header, stream, next) => {
    const target = wanted[header.name] ?? wanted[header.name.replace(/^\.\//, '')];
    if (header.type !== 'file' || !target) {
      stream.on('end', next);
      stream.resume();
      return;
    }
    found.add(target);
    pipeline(stream, createWriteStream(join(binDir, target), { mode: 0o755 })).then(() => next(), next);
  });
  await pipeline(createReadStream(archive), createGunzip(), extract);
  const missing = Object.values(wanted).filter((name) => !found.has(name));
  if (missing.length > 0) throw new Error(`${basename(archive)} does not contain ${missing.join(', ')}`);
}

/** Downloads every release file of an artifact into binDir, each checked against its sha256. */
export async function fetchRelease(artifact: Artifact, binDir: string, options: ReleaseOptions = {}): Promise<void> {
  if (artifact.release.length === 0) {
    throw new ReleaseUnreachableError(artifact.name, 'it has no release download of its own');
  }
  const scratch = join(binDir, '.download');
  await mkdir(scratch, { recursive: true });
  try {
    for (const [index, source] of artifact.release.entries()) {
      await fetchOne(artifact, source, index, binDir, scratch, options);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function fetchOne(
  artifact: Artifact,
  source: ReleaseSource,
  index: number,
  binDir: string,
  scratch: string,
  options: ReleaseOptions,
): Promise<void> {
  const file = join(scratch, basename(new URL(source.url).pathname));
  const expected = await expectedDigest(source.checksum, source.url, options);
  const actual = await download(source.url, file, options);
  if (actual !== expected) {
    await rm(file, { force: true });
    throw new ChecksumMismatchError(source.url, expected, actual);
  }
  if (source.extract) {
    await extractEntries(file, source.extract, binDir);
    return;
  }
  const binary = artifact.binaries[index];
  if (!binary) throw new Error(`${artifact.name}: release ${source.url} has no binary name`);
  await rename(file, join(binDir, binary));
  await chmod(join(binDir, binary), 0o755);
}
