import { fileURLToPath } from 'node:url';
import { homedir } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** kc's cache (downloads, source builds): safe to delete, refilled on demand. */
export function cacheDir(): string {
  return process.env.KC_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kc');
}

/** kc's state (one folder per cluster: PKI, plan): deleted with the cluster. */
export function stateDir(): string {
  return process.env.KC_STATE_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'kc');
}

/** The folder kc is installed in (holds node-image/ and images/). */
export function projectRoot(): string {
  // Built, this file is dist/src/util/paths.js; under vitest it is src/util/paths.ts.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'node-image', 'Dockerfile'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find kc\'s installation folder (node-image/Dockerfile)');
    dir = parent;
  }
  return dir;
}
