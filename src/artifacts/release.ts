import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { Artifact, Checksum, ReleaseSource } from './manifest.js';

/**
 * A release file could not be had: the site did not answer, or answered with
 * an HTTP error (404 for a version not published yet, 403 for a rate limit).
 * In `--source auto` the caller builds the artifact from source instead.
 */
export class ReleaseDownloadError extends Error {
  constructor(readonly url: string, readonly reason: string) {
    super(`cannot download ${url}: ${reason}`);
    this.name = 'ReleaseDownloadError';
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
  /**
   * A base URL that serves the release sites' files under their host names
   * (`<mirror>/dl.k8s.io/release/...`, `<mirror>/github.com/...`): a proxy or
   * an in-house mirror, from KC_RELEASE_MIRROR. Checksums are checked the same way.
   */
  mirror?: string;
  /** Sent to api.github.com only (never to a mirror), for GitHub's higher rate limit: GITHUB_TOKEN. */
  githubToken?: string;
}

/** What the environment says about release downloads: KC_RELEASE_MIRROR (checked) and GITHUB_TOKEN. */
export function releaseEnvironment(env: NodeJS.ProcessEnv = process.env): Pick<ReleaseOptions, 'mirror' | 'githubToken'> {
  const mirror = releaseMirrorFrom(env.KC_RELEASE_MIRROR);
  const githubToken = env.GITHUB_TOKEN || undefined;
  return { ...(mirror ? { mirror } : {}), ...(githubToken ? { githubToken } : {}) };
}

/** The address a release file is fetched from: the project's own, or the mirror's copy of it. */
export function mirrored(url: string, mirror: string | undefined): string {
  if (!mirror) return url;
  const { host, pathname, search } = new URL(url);
  return `${mirror.replace(/\/+$/, '')}/${host}${pathname}${search}`;
}

/** KC_RELEASE_MIRROR, checked: an http(s) base URL, or undefined when unset. */
export function releaseMirrorFrom(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(
      `KC_RELEASE_MIRROR="${value}" is not an http(s) URL: set it to the base URL of a mirror that serves the release sites under their host names ` +
        '(e.g. https://mirror.example.com/kc, which serves https://mirror.example.com/kc/dl.k8s.io/release/...), or unset it',
    );
  }
  return url.toString().replace(/\/+$/, '');
}

/** Why a request got no answer, in a few words: the system's error code where there is one. */
function networkFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? error.message;
}

async function get(url: string, options: ReleaseOptions, headers: Record<string, string> = {}): Promise<Response> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const from = mirrored(url, options.mirror);
  let response: Response;
  try {
    response = await fetchImpl(from, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 15 * 60_000) });
  } catch (error) {
    throw new ReleaseDownloadError(from, networkFailure(error));
  }
  if (!response.ok || !response.body) throw new ReleaseDownloadError(from, `HTTP ${response.status}`);
  return response;
}

/**
 * The sha256 GitHub records for a release asset (the `digest` of the asset in
 * its releases API): for projects that publish a binary but no checksum file.
 */
async function githubAssetDigest(repository: string, tag: string, asset: string, options: ReleaseOptions): Promise<string> {
  const api = `https://api.github.com/repos/${repository}/releases/tags/${tag}`;
  const headers: Record<string, string> = { accept: 'application/vnd.github+json' };
  if (options.githubToken && !options.mirror) headers.authorization = `Bearer ${options.githubToken}`;
  const release = (await (await get(api, options, headers)).json()) as { assets?: { name?: string; digest?: string | null }[] };
  const digest = release.assets?.find((a) => a.name === asset)?.digest;
  const match = typeof digest === 'string' ? /^sha256:([0-9a-f]{64})$/i.exec(digest) : null;
  if (!match?.[1]) throw new ReleaseDownloadError(mirrored(api, options.mirror), `GitHub records no sha256 digest for ${asset}`);
  return match[1].toLowerCase();
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
  if ('githubRelease' in checksum) return githubAssetDigest(checksum.githubRelease.repository, checksum.githubRelease.tag, basename(new URL(url).pathname), options);
  const text = await (await get(checksum.sha256Url, options)).text();
  const digest = digestFromChecksumFile(text, basename(new URL(url).pathname));
  if (!digest) throw new ReleaseDownloadError(mirrored(checksum.sha256Url, options.mirror), `it has no sha256 for ${basename(url)}`);
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
    throw new ReleaseDownloadError(artifact.name, 'it has no release download of its own');
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
    throw new ChecksumMismatchError(mirrored(source.url, options.mirror), expected, actual);
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
