import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../util/paths.js';

/**
 * Manifests kc ships as upstream generates them (MetalLB's CRDs, the Gateway
 * API's), vendored under manifests/ by a script in scripts/ from the Go
 * module at the pinned version. Their first line names that version, which a
 * unit test compares with the pin.
 */
export interface VendoredManifest {
  /** The version the header names (`# MetalLB v0.15.2 ...`). */
  version: string | undefined;
  /** The documents as one kubectl stream: no header comment, no leading separator. */
  documents: string;
}

const cache = new Map<string, VendoredManifest>();

/** A vendored manifest under manifests/ (`metallb/crds.yaml`), read once. */
export function vendoredManifest(path: string): VendoredManifest {
  let manifest = cache.get(path);
  if (!manifest) {
    const text = readFileSync(join(projectRoot(), 'manifests', path), 'utf8');
    manifest = { version: /^# \D*?(v\d\S*) /.exec(text)?.[1], documents: text.replace(/^#.*\n/gm, '').replace(/^---\n/, '') };
    cache.set(path, manifest);
  }
  return manifest;
}
