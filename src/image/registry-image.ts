import { ArtifactCache } from '../artifacts/cache.js';
import { REGISTRY_ARTIFACT, REGISTRY_IMAGE } from '../artifacts/manifest.js';
import { resolveArtifacts } from '../artifacts/resolve.js';
import type { Images } from '../provider/provider.js';
import { cacheDir } from '../util/paths.js';
import type { Progress } from '../util/progress.js';
import { ensurePodImage } from './pod-images.js';

/**
 * The registry's image on the engine kc runs on: kept when present (its tag
 * names the registry's version), else built from the registry artifact (a
 * release download, or its Go module) and images/registry. Says how it came to be.
 */
export async function ensureRegistryImage(engine: Images, progress: Progress): Promise<string> {
  if ((await engine.imageLabels(REGISTRY_IMAGE)) === undefined) {
    const resolved = await resolveArtifacts([REGISTRY_ARTIFACT], { cache: new ArtifactCache(cacheDir()), choice: 'auto' }, progress);
    const how = await ensurePodImage(engine, { name: 'registry', tag: REGISTRY_IMAGE, artifact: 'registry', binary: 'registry' }, resolved);
    return `${REGISTRY_IMAGE} ${how}`;
  }
  return REGISTRY_IMAGE;
}
