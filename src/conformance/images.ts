import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALPINE_TEST_BASE } from '../artifacts/manifest.js';
import { sha256File } from '../artifacts/cache.js';
import { downloadModule } from '../artifacts/source.js';
import type { ResolvedArtifact } from '../artifacts/resolve.js';
import type { Images } from '../provider/provider.js';
import { contextDigest, contextStream, fileEntry, folderFiles, type ContextFile } from '../image/context.js';
import { projectRoot } from '../util/paths.js';

export const E2E_BASE_IMAGE = 'kc/e2e-base:bookworm';
const LABEL_INPUTS = 'dev.kc.inputs';

/** Where a file of an image's build context comes from. */
export type ContextSource =
  | { artifact: string; binary: string }
  | { moduleFile: string };

/**
 * One test image: a Dockerfile under images/e2e/<dockerfile>/, the extra files
 * its context needs, and the upstream image IDs it is tagged as (the names
 * of test/utils/image/manifest.go, whose tags differ from release to release).
 */
export interface TestImage {
  dockerfile: string;
  ids: string[];
  /** Context path → where the file comes from. */
  files: Record<string, ContextSource>;
  /** The image it builds on (default: the e2e base): Alpine, see ALPINE_TEST_BASE. */
  fromImage?: string;
}

/** A test image with the names one suite version pulls it by. */
export interface NamedTestImage extends TestImage {
  tags: string[];
  from?: string;
}

/** The images the conformance tests run (others need features a kc cluster leaves out). */
export const TEST_IMAGES: TestImage[] = [
  {
    dockerfile: 'agnhost',
    // AgnhostPrev is the suite's "previous agnhost": tests only need a second name for it.
    ids: ['Agnhost', 'AgnhostPrev'],
    files: {
      agnhost: { artifact: 'e2e-test-binaries', binary: 'agnhost' },
      'localhost.crt': { moduleFile: 'test/images/agnhost/porter/localhost.crt' },
      'localhost.key': { moduleFile: 'test/images/agnhost/porter/localhost.key' },
    },
  },
  { dockerfile: 'busybox', ids: ['BusyBox'], files: {} },
  { dockerfile: 'nginx', ids: ['Nginx', 'NginxNew'], files: {} },
  {
    dockerfile: 'sample-apiserver',
    ids: ['APIServer'],
    files: { 'kube-sample-apiserver': { artifact: 'e2e-test-binaries', binary: 'kube-sample-apiserver' } },
  },
  {
    dockerfile: 'etcd',
    ids: ['Etcd'],
    files: { etcd: { artifact: 'etcd', binary: 'etcd' }, etcdctl: { artifact: 'etcd', binary: 'etcdctl' } },
  },
  // Agnhost's test web server with a picture and its data.json (kubectl's "Update Demo" tests), on
  // Alpine like upstream's: the ImageVolume tests mount kitten and read Alpine's /etc/os-release.
  {
    dockerfile: 'webpage',
    ids: ['Kitten'],
    fromImage: ALPINE_TEST_BASE.image,
    files: {
      agnhost: { artifact: 'e2e-test-binaries', binary: 'agnhost' },
      'html/kitten.jpg': { moduleFile: 'test/images/kitten/html/kitten.jpg' },
      'html/data.json': { moduleFile: 'test/images/kitten/html/data.json' },
    },
  },
  {
    dockerfile: 'webpage',
    ids: ['Nautilus'],
    fromImage: ALPINE_TEST_BASE.image,
    files: {
      agnhost: { artifact: 'e2e-test-binaries', binary: 'agnhost' },
      'html/nautilus.jpg': { moduleFile: 'test/images/nautilus/html/nautilus.jpg' },
      'html/data.json': { moduleFile: 'test/images/nautilus/html/data.json' },
    },
  },
  { dockerfile: 'nonewprivs', ids: ['Nonewprivs'], files: { nnp: { artifact: 'e2e-test-binaries', binary: 'nnp' } } },
  { dockerfile: 'nonroot', ids: ['NonRoot'], files: {} },
  // The HorizontalPodAutoscaler tests' load: it burns CPU (consume-cpu) and memory (stress) on request.
  {
    dockerfile: 'resource-consumer',
    ids: ['ResourceConsumer'],
    files: {
      consumer: { artifact: 'e2e-test-binaries', binary: 'consumer' },
      'consume-cpu': { artifact: 'e2e-test-binaries', binary: 'consume-cpu' },
    },
  },
  // The DNS tests' resolver image: jessie-dnsutils until v1.35, glibc-dns-testing after (the same tools: dig, nslookup).
  { dockerfile: 'glibc-dns-testing', ids: ['GlibcDnsTesting', 'JessieDnsutils'], files: {} },
];

/** Where upstream's registry lists point (initReg in the same file): the names kc builds the images under. */
const UPSTREAM_REGISTRIES: Record<string, string> = {
  PromoterE2eRegistry: 'registry.k8s.io/e2e-test-images',
  GcEtcdRegistry: 'registry.k8s.io',
  GcRegistry: 'registry.k8s.io',
};

/** The file of k8s.io/kubernetes that names every test image of that version. */
export const UPSTREAM_IMAGE_MANIFEST = 'test/utils/image/manifest.go';

/**
 * Image ID → full name, from a version's test/utils/image/manifest.go: its
 * `configs[Agnhost] = Config{list.PromoterE2eRegistry, "agnhost", "2.66.1"}` lines.
 */
export function upstreamImageNames(manifestGo: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const match of manifestGo.matchAll(/configs\[(\w+)\] = Config\{list\.(\w+), "([^"]+)", "([^"]+)"\}/g)) {
    const [, id = '', list = '', name = '', tag = ''] = match;
    const registry = UPSTREAM_REGISTRIES[list];
    if (registry) names.set(id, `${registry}/${name}:${tag}`);
  }
  return names;
}

/**
 * Images a suite never needs kc to build: pause is in every node already,
 * and InvalidRegistryImage must fail to pull (the tests check that it does).
 */
const PROVIDED_ELSEWHERE: ReadonlySet<string> = new Set(['Pause', 'InvalidRegistryImage']);

/**
 * The images a suite version names (every `configs[...]` line of its
 * manifest.go, whatever its registry) that kc does not build: tests that run
 * them cannot pass offline. Said before a run, so a focused run that needs
 * one is not a mystery. ID → upstream name (registry list, name:tag).
 */
export function unprovidedTestImages(manifestGo: string, images: readonly TestImage[] = TEST_IMAGES): Map<string, string> {
  const built = new Set(images.flatMap((image) => image.ids));
  const missing = new Map<string, string>();
  for (const match of manifestGo.matchAll(/configs\[(\w+)\] = Config\{list\.(\w+), "([^"]+)", "([^"]+)"\}/g)) {
    const [, id = '', list = '', name = '', tag = ''] = match;
    if (!built.has(id) && !PROVIDED_ELSEWHERE.has(id)) missing.set(id, `${UPSTREAM_REGISTRIES[list] ?? list}/${name}:${tag}`);
  }
  return missing;
}

/**
 * The test images with the names a suite version (its manifest.go, parsed by
 * upstreamImageNames) pulls them by. An ID the version does not name is an
 * image its tests never ask for (v1.35 has no GlibcDnsTesting): left out.
 */
export function nameTestImages(names: ReadonlyMap<string, string>, images: TestImage[] = TEST_IMAGES): NamedTestImage[] {
  return images.flatMap((image) => {
    const tags = image.ids.flatMap((id) => names.get(id) ?? []);
    if (tags.length === 0) return [];
    return [{ ...image, tags, ...(image.fromImage ? { from: image.fromImage } : {}) }];
  });
}

/** Every tag the test images carry: what gets loaded into the nodes. */
export function testImageTags(images: readonly NamedTestImage[]): string[] {
  return images.flatMap((image) => image.tags);
}

export interface ImageInputs {
  artifacts: ResolvedArtifact[];
  /** The k8s.io/kubernetes module's folder (test data such as kitten.jpg). */
  kubernetesModuleDir: string;
}

async function contextFiles(dockerfileDir: string, files: Record<string, ContextSource>, inputs: ImageInputs): Promise<ContextFile[]> {
  const context = [await fileEntry(join(dockerfileDir, 'Dockerfile'), 'Dockerfile')];
  for (const [target, source] of Object.entries(files)) {
    if ('moduleFile' in source) {
      context.push(await fileEntry(join(inputs.kubernetesModuleDir, source.moduleFile), target));
      continue;
    }
    const resolved = inputs.artifacts.find((a) => a.artifact.name === source.artifact);
    if (!resolved) throw new Error(`internal: test image file ${target} needs artifact ${source.artifact}, which was not resolved`);
    const entry = await fileEntry(join(resolved.entry.binDir, source.binary), target);
    entry.sha256 = resolved.entry.record.binaries[source.binary];
    context.push(entry);
  }
  return context;
}

/** Builds an image unless one with the same inputs (context and base) is already there. */
async function buildOnce(engine: Images, tag: string, context: ContextFile[], baseImage: string): Promise<boolean> {
  const baseId = (await engine.imageId(baseImage)) ?? baseImage;
  const digest = await contextDigest(context, [baseId]);
  const labels = await engine.imageLabels(tag);
  if (labels?.[LABEL_INPUTS] === digest) return false;
  await engine.buildImage(contextStream(context), { tag, buildArgs: { BASE_IMAGE: baseImage }, labels: { [LABEL_INPUTS]: digest } });
  return true;
}

/**
 * Builds the e2e base on `debianImage`, then every test image on it (or on
 * the image it names); returns how many were (re)built. Inputs that did not
 * change build nothing.
 */
export async function ensureTestImages(
  engine: Images,
  debianImage: string,
  inputs: ImageInputs,
  note: (detail: string) => void,
  images: readonly NamedTestImage[],
): Promise<number> {
  const root = join(projectRoot(), 'images', 'e2e');
  let built = 0;
  if (images.some((image) => image.from === ALPINE_TEST_BASE.image)) await ensureAlpineBase(engine, note);
  const baseContext = await folderFiles(join(root, 'base'), '');
  if (await buildOnce(engine, E2E_BASE_IMAGE, baseContext, debianImage)) built++;
  for (const image of images) {
    const context = await contextFiles(join(root, image.dockerfile), image.files, inputs);
    for (const tag of image.tags) {
      note(tag);
      if (await buildOnce(engine, tag, context, image.from ?? E2E_BASE_IMAGE)) built++;
    }
  }
  return built;
}

/**
 * Loads ALPINE_TEST_BASE into the engine unless it is there: the file from
 * its Go module (the proxy serves it; Go caches it), checked against the
 * pinned SHA-256 before Docker sees it.
 */
async function ensureAlpineBase(engine: Images, note: (detail: string) => void): Promise<void> {
  const { image, module, version, file, sha256 } = ALPINE_TEST_BASE;
  if (await engine.imageId(image)) return;
  note(`${image} from ${module}@${version}`);
  const info = await downloadModule(module, version, tmpdir());
  if (!info.Dir) throw new Error(`Go module ${module}@${version} has no source folder`);
  const path = join(info.Dir, file);
  const actual = await sha256File(path);
  if (actual !== sha256) throw new Error(`${file} of ${module}@${version} has SHA-256 ${actual}, not the pinned ${sha256}: kc will not load it`);
  await engine.loadImages(createReadStream(path));
  if (!(await engine.imageId(image))) throw new Error(`${file} of ${module}@${version} did not load as ${image}`);
}
