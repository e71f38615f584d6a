/**
 * `node dist/tools/tool-path.js NAME`: prints the path of one of the tools
 * kc's development runs (helm, actionlint), from kc's artifact cache: a
 * release download where a release site answers, else built from its Go
 * module once. Progress goes to stderr, the path alone to stdout.
 */
import { join } from 'node:path';
import { ArtifactCache } from '../src/artifacts/cache.js';
import { DEVELOPMENT_TOOLS } from '../src/artifacts/manifest.js';
import { resolveArtifacts } from '../src/artifacts/resolve.js';
import { cacheDir } from '../src/util/paths.js';
import { createProgress } from '../src/util/progress.js';

/** The path of a development tool's binary, produced into kc's cache on first use. */
export async function toolPath(name: string): Promise<string> {
  const tool = DEVELOPMENT_TOOLS.find((t) => t.name === name);
  if (!tool) throw new Error(`no tool named "${name}": kc's tools are ${DEVELOPMENT_TOOLS.map((t) => t.name).join(', ')}`);
  const [resolved] = await resolveArtifacts([tool], { cache: new ArtifactCache(cacheDir()), choice: 'auto' }, createProgress('normal'));
  if (!resolved) throw new Error(`${name} was not resolved`);
  return join(resolved.entry.binDir, tool.binaries[0] ?? name);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  toolPath(process.argv[2] ?? '').then(
    (path) => process.stdout.write(`${path}\n`),
    (error: unknown) => {
      process.stderr.write(`tool-path: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
