import { join } from 'node:path';
import { isLocked, withFileLock, type LockOptions } from '../util/file-lock.js';
import type { Progress } from '../util/progress.js';
import { messageOf } from '../util/errors.js';
import type { ArtifactCache, ArtifactSource, CacheEntry } from './cache.js';
import type { Artifact } from './manifest.js';
import { fetchRelease, releaseEnvironment, type ReleaseOptions } from './release.js';
import { buildFromSource } from './source.js';

/** `auto`: a cached entry of either kind, else the release, else (the release download failed) a source build. */
export type SourceChoice = 'auto' | ArtifactSource;

export const SOURCE_CHOICES: readonly SourceChoice[] = ['auto', 'release', 'source'];
/** Release downloads when a release site answers, source builds otherwise. */
export const DEFAULT_SOURCE: SourceChoice = 'auto';

export interface ResolvedArtifact {
  artifact: Artifact;
  entry: CacheEntry;
  /** True when nothing had to be downloaded or built. */
  cached: boolean;
}

/** The order in which `choice` lets kc look for or produce an artifact. */
export function sourceOrder(choice: SourceChoice, artifact: Artifact): ArtifactSource[] {
  if (choice !== 'auto') return [choice];
  return artifact.release.length > 0 ? ['release', 'source'] : ['source'];
}

/** Puts an artifact's binaries into binDir, from one source. */
export type Produce = (artifact: Artifact, source: ArtifactSource, binDir: string) => Promise<void>;

export interface ResolveOptions extends ReleaseOptions {
  cache: ArtifactCache;
  choice: SourceChoice;
  /** How an artifact is downloaded or built: the real release download or Go build unless a test says otherwise. */
  produce?: Produce;
  /** Told which source kc turns to before it starts producing from it (a download or a build). */
  onProduce?: (source: ArtifactSource) => void;
  /** Told why the release download failed when `auto` turns to a source build instead. */
  onFallback?: (reason: string) => void;
  /** Told when another kc is producing the entry right now, and this one waits for it. */
  onWait?: (source: ArtifactSource) => void;
  /** How long to wait for another kc producing the same entry (PRODUCE_LOCK_WAIT_MS unless a test says otherwise). */
  produceLockWaitMs?: number;
}

/**
 * How long a kc waits for another kc producing the same artifact: the largest
 * source build (Kubernetes) takes about 20 minutes on 2 cores.
 */
export const PRODUCE_LOCK_WAIT_MS = 60 * 60_000;

/**
 * Finds an artifact in the cache or produces it, as `choice` allows. Producing
 * happens under a lock per cache entry: a second kc (two builds of the node
 * image, or the e2e set-up building the conformance suite ahead) waits for
 * the first and takes its result, instead of building the same thing beside
 * it in the same work folder.
 */
export async function resolveArtifact(artifact: Artifact, options: ResolveOptions): Promise<ResolvedArtifact> {
  const order = sourceOrder(options.choice, artifact);
  for (const source of order) {
    const entry = await options.cache.lookup(artifact, source);
    if (entry) return { artifact, entry, cached: true };
  }
  let releaseFailure: string | undefined;
  for (const [index, source] of order.entries()) {
    try {
      if (await isLocked(options.cache.entryDir(artifact, source))) options.onWait?.(source);
      return await withFileLock(options.cache.entryDir(artifact, source), produceLock(artifact, options), async () => {
        // Another kc may have produced it while this one waited.
        const done = await options.cache.lookup(artifact, source);
        if (done) return { artifact, entry: done, cached: true };
        options.onProduce?.(source);
        const producer: Produce = options.produce ?? ((a, s, binDir) => produce(a, s, binDir, options));
        const entry = await options.cache.store(artifact, source, (binDir) => producer(artifact, source, binDir));
        return { artifact, entry, cached: false };
      });
    } catch (error) {
      // In `auto`, any failed release download (unreachable, 404 for a version
      // not published yet, 403 for a rate limit, a file that does not match its
      // checksum, which is discarded) turns to a source build: the user is told
      // why, and never stranded. `--source release` shows the error itself.
      const next = order[index + 1];
      if (source === 'release' && next !== undefined) {
        releaseFailure = messageOf(error);
        options.onFallback?.(releaseFailure);
        continue;
      }
      if (releaseFailure !== undefined) {
        throw new Error(`${artifact.name} ${artifact.version}: the release download failed (${releaseFailure}), and so did the source build: ${messageOf(error)}`, {
          cause: error,
        });
      }
      throw error;
    }
  }
  throw new Error(`${artifact.name}: no source to get it from`);
}

function produceLock(artifact: Artifact, options: ResolveOptions): LockOptions {
  const waitMs = options.produceLockWaitMs ?? PRODUCE_LOCK_WAIT_MS;
  return {
    waitMs,
    busyMessage:
      `another kc has been producing ${artifact.name} ${artifact.version} for more than ${Math.round(waitMs / 60_000)} minutes: ` +
      `let it finish, or stop it and run this again (its lock in ${options.cache.root} goes stale within a minute of it stopping)`,
  };
}

function produce(artifact: Artifact, source: ArtifactSource, binDir: string, options: ResolveOptions): Promise<void> {
  if (source === 'release') return fetchRelease(artifact, binDir, options);
  const workDir = join(options.cache.root, 'build', `${artifact.name}-${artifact.version}`);
  return buildFromSource(artifact, binDir, { workDir });
}

/** How an artifact is being produced from a source, in the words a progress line uses. */
export function producing(artifact: Artifact, source: ArtifactSource): string {
  if (source === 'release') return 'downloading the release';
  const origin = artifact.source.kind === 'go' ? Object.keys(artifact.source.modules).join(', ') : `${artifact.source.file} of ${artifact.source.module}`;
  return `building from Go module ${origin}`;
}

function produced(source: ArtifactSource): string {
  return source === 'release' ? 'release download' : 'built from Go module';
}

/** The artifacts no cache entry holds yet, for the sources `choice` allows: what a run must download or build. */
export async function missingArtifacts(artifacts: Artifact[], cache: ArtifactCache, choice: SourceChoice): Promise<Artifact[]> {
  const missing: Artifact[] = [];
  for (const artifact of artifacts) {
    const found = await Promise.all(sourceOrder(choice, artifact).map((source) => cache.lookup(artifact, source)));
    if (!found.some(Boolean)) missing.push(artifact);
  }
  return missing;
}

/**
 * The line a run shows before it downloads or builds anything: how long it
 * will roughly take. A release download is quick; a source build (`source`,
 * or no release site answering) takes the measured minutes of each artifact.
 */
export function coldBuildEstimate(missing: Artifact[], choice: SourceChoice): string | undefined {
  if (missing.length === 0) return undefined;
  const minutes = missing.reduce((sum, a) => sum + a.sourceBuildMinutes, 0);
  const largest = [...missing]
    .filter((a) => a.sourceBuildMinutes >= 1)
    .sort((a, b) => b.sourceBuildMinutes - a.sourceBuildMinutes)
    .map((a) => `${a.name} ~${Math.round(a.sourceBuildMinutes)} min`);
  const parts = largest.length > 0 ? ` (${largest.join(', ')})` : '';
  const build = `building them from their Go modules takes about ${Math.max(1, Math.round(minutes))} min on 2 cores${parts}, less with more cores`;
  const what = `${missing.length} artifact${missing.length === 1 ? '' : 's'} not cached yet: ${missing.map((a) => a.name).join(', ')}`;
  if (choice === 'source') return `${what}; ${build}. Once built they are cached: later runs take seconds.`;
  return `${what}; release downloads take a minute or two, but where no release site answers ${build}. Once cached, later runs take seconds.`;
}

/**
 * Resolves every artifact, one progress line each, saying which source it
 * comes from and how long it took; before anything is produced, one line says
 * roughly how long the whole thing takes. Sequential: a source build already
 * uses every core.
 */
export async function resolveArtifacts(
  artifacts: Artifact[],
  options: ResolveOptions,
  progress: Progress,
): Promise<ResolvedArtifact[]> {
  // A mirror set wrongly is said before anything is downloaded or built.
  options = { ...releaseEnvironment(), ...options };
  const estimate = coldBuildEstimate(await missingArtifacts(artifacts, options.cache, options.choice), options.choice);
  if (estimate) progress.info(estimate);
  const resolved: ResolvedArtifact[] = [];
  for (const artifact of artifacts) {
    resolved.push(
      await progress.step(`${artifact.name} ${artifact.version}`, async (note) => {
        const result = await resolveArtifact(artifact, {
          ...options,
          onWait: (source) => note(`another kc is ${producing(artifact, source)}: waiting for it`),
          onProduce: (source) => note(producing(artifact, source)),
          onFallback: (reason) => progress.info(`${artifact.name} ${artifact.version}: the release download failed (${reason}): building it from source instead`),
        });
        const how = produced(result.entry.record.source);
        note(result.cached ? `cached, ${how}` : how);
        return result;
      }),
    );
  }
  return resolved;
}
