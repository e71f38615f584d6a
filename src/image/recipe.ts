import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactsFor, type KubernetesRelease } from '../artifacts/manifest.js';
import { projectRoot } from '../util/paths.js';
import { folderFiles, type ContextFile } from './context.js';
import { podImageList } from './pod-images.js';

/** The Kubernetes version a node image runs. */
export const LABEL_KUBERNETES_VERSION = 'dev.kc.kubernetes-version';
/** The recipe of kc that made a node image (see nodeImageRecipe): same recipe, an image this kc can run. */
export const LABEL_RECIPE = 'dev.kc.node-image.recipe';
/** One label per component, `dev.kc.component.<name>=<version>`: what a published image holds, readable with `docker inspect`. */
export const LABEL_COMPONENT_PREFIX = 'dev.kc.component.';

/** The files kc puts into every node image besides binaries: its Dockerfile and files, the pod images' folders, runc-capfilter. */
async function recipeFiles(release: KubernetesRelease): Promise<ContextFile[]> {
  const root = projectRoot();
  const podImageFolders = await Promise.all(podImageList(release).map((image) => folderFiles(join(root, 'images', image.name), `images/${image.name}`)));
  return [
    ...(await folderFiles(join(root, 'node-image'), 'node-image')),
    ...podImageFolders.flat(),
    ...(await folderFiles(join(root, 'scripts'), 'scripts')).filter((file) => file.target === 'scripts/runc-capfilter'),
  ];
}

const recipes = new Map<string, Promise<string>>();

/**
 * What a node image of one release is made of, apart from the bytes of its
 * binaries: the pinned artifacts (versions, release files, modules), the pod
 * images, and the files kc puts into the node. Two kc versions with the same
 * recipe make interchangeable node images, so a published image tagged with
 * it is one this kc can run. Only a file's content and whether it is
 * executable count: a checkout's umask does not change the recipe.
 */
export function nodeImageRecipe(release: KubernetesRelease): Promise<string> {
  let recipe = recipes.get(release.kubernetes);
  if (!recipe) {
    recipe = (async () => {
      const hash = createHash('sha256');
      hash.update(JSON.stringify({ artifacts: artifactsFor(release), podImages: podImageList(release) }));
      for (const file of await recipeFiles(release)) {
        hash.update(`\n${file.target} ${file.mode & 0o111 ? 'x' : '-'} `);
        hash.update(await readFile(file.source));
      }
      return hash.digest('hex').slice(0, 12);
    })();
    recipes.set(release.kubernetes, recipe);
  }
  return recipe;
}

/** The labels that say what a node image holds: its Kubernetes version, its recipe, each component's version. */
export async function nodeImageLabels(release: KubernetesRelease): Promise<Record<string, string>> {
  const components = Object.fromEntries(artifactsFor(release).map((a) => [`${LABEL_COMPONENT_PREFIX}${a.name}`, a.version]));
  return {
    [LABEL_KUBERNETES_VERSION]: release.kubernetes,
    [LABEL_RECIPE]: await nodeImageRecipe(release),
    ...components,
    'org.opencontainers.image.title': 'kc node',
    'org.opencontainers.image.version': release.kubernetes,
  };
}
