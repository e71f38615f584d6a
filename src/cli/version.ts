import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactsFor, DEFAULT_RELEASE, KUBERNETES_RELEASES, REGISTRY_ARTIFACT } from '../artifacts/manifest.js';
import { nodeImageFor } from '../config/defaults.js';
import { publishedNodeImage, publishedRepository } from '../image/published.js';
import { nodeImageRecipe } from '../image/recipe.js';
import { projectRoot } from '../util/paths.js';

function kcVersion(): string {
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export const versionCommand: CommandModule = {
  command: 'version',
  describe: 'Print kc and component versions, and the node image this kc runs',
  handler: async () => {
    const release = DEFAULT_RELEASE;
    const others = KUBERNETES_RELEASES.slice(1).map((r) => r.kubernetes).join(', ');
    const repository = publishedRepository();
    const published = repository ? `, pulled as ${await publishedNodeImage(repository, release)} where published` : '';
    const lines = [
      `kc ${kcVersion()}`,
      `node image ${nodeImageFor(release.kubernetes)} (recipe ${await nodeImageRecipe(release)}${published})`,
      ...artifactsFor(release).map((a) => (a.name === 'kubernetes' ? `kubernetes ${a.version} (default; node images also for ${others})` : `${a.name} ${a.version}`)),
      `registry ${REGISTRY_ARTIFACT.version}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
