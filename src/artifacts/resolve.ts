import { join } from 'node:path';
import type { Progress } from '../util/progress.js';
import { ArtifactCache, type ArtifactSource, type CacheEntry } from './cache.js';
import type { Artifact } from './manifest.js';
import { fetchRelease, ReleaseUnreachableError, type ReleaseOptions } from './release.js';
import { buildFromSource } from './source.js';

/** `auto`: a cached entry of either kind, else the release, else (release site unreachable) a source build. */
export type SourceChoice = 'auto' | ArtifactSource;

export const SOURCE_CHOICES: readonly SourceChoice[] = ['auto', 'release', 'source'];

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

export interface ResolveOptions extends ReleaseOptions {
  cache: ArtifactCache;
  choice: SourceChoice;
}

/** Finds an artifact in the cache or produces it, as `choice` allows. */
export async function resolveArtifact(artifact: Artifact, options: ResolveOptions): Promise<ResolvedArtifact> {
  const order = sourceOrder(options.choice, artifact);
  for (const source of order) {
    const entry = await options.cache.lookup(artifact, source);
    if (entry) return { artifact, entry, cached: true };
  }
  let unreachable: ReleaseUnreachableError | undefined;
  for (const source of order) {
    try {
      const entry = await options.cache.store(artifact, source, (binDir) => produce(artifact, source, binDir, options));
      return { artifact, entry, cached: false };
    } catch (error) {
      // Only an unreachable release site falls through to a source build: a
      // checksum mismatch or a broken build is an error the user must see.
      if (error instanceof ReleaseUnreachableError && options.choice === 'auto') {
        unreachable = error;
        continue;
      }
      throw error;
    }
  }
  throw unreachable ?? new Error(`${artifact.name}: no source to get it from`);
}

function produce(artifact: Artifact, source: ArtifactSource, binDir: string, options: ResolveOptions): Promise<void> {
  if (source === 'release') return fetchRelease(artifact, binDir, options);
  const workDir = join(options.cache.root, 'build', `${artifact.name}-${artifact.version}`);
  return buildFromSource(artifact, binDir, { workDir });
}

/** Resolves every artifact, one progress line each. Sequential: source builds already use every core. */
export async function resolveArtifacts(
  artifacts: Artifact[],
  options: ResolveOptions,
  progress: Progress,
): Promise<ResolvedArtifact[]> {
  const resolved: ResolvedArtifact[] = [];
  for (const artifact of artifacts) {
    resolved.push(
      await progress.step(`${artifact.name} ${artifact.version}`, async (note) => {
        const result = await resolveArtifact(artifact, options);
        const how = result.entry.record.source === 'release' ? 'release download' : 'built from source';
        note(result.cached ? `cached, ${how}` : how);
        return result;
      }),
    );
  }
  return resolved;
}
