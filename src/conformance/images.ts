import { join } from 'node:path';
import type { ResolvedArtifact } from '../artifacts/resolve.js';
import type { Images } from '../provider/provider.js';
import { contextDigest, contextStream, fileEntry, folderFiles, type ContextFile } from '../image/context.js';
import { projectRoot } from '../util/paths.js';

/** Where upstream publishes its e2e test images: kc builds them under exactly these names. */
const E2E_REGISTRY = 'registry.k8s.io/e2e-test-images';
export const E2E_BASE_IMAGE = 'kc/e2e-base:bookworm';
const LABEL_INPUTS = 'dev.kc.inputs';

/** Where a file of an image's build context comes from. */
export type ContextSource =
  | { artifact: string; binary: string }
  | { moduleFile: string };

/**
 * One test image: a Dockerfile under images/e2e/<dockerfile>/, the extra files
 * its context needs, and every upstream name it is tagged with (the names in
 * k8s.io/kubernetes test/utils/image/manifest.go at the pinned version).
 */
export interface TestImage {
  dockerfile: string;
  tags: string[];
  /** Context path → where the file comes from. */
  files: Record<string, ContextSource>;
  /** The image it builds on (default: the e2e base). */
  from?: string;
}

const AGNHOST = `${E2E_REGISTRY}/agnhost:2.66.1`;

/** The images the conformance tests run (others need features a kc cluster leaves out). */
export const TEST_IMAGES: TestImage[] = [
  {
    dockerfile: 'agnhost',
    // 2.55 is the suite's "previous agnhost": tests only need a second name for it.
    tags: [AGNHOST, `${E2E_REGISTRY}/agnhost:2.55`],
    files: {
      agnhost: { artifact: 'e2e-test-binaries', binary: 'agnhost' },
      'localhost.crt': { moduleFile: 'test/images/agnhost/porter/localhost.crt' },
      'localhost.key': { moduleFile: 'test/images/agnhost/porter/localhost.key' },
    },
  },
  { dockerfile: 'busybox', tags: [`${E2E_REGISTRY}/busybox:1.37.0-2`], files: {} },
  { dockerfile: 'nginx', tags: [`${E2E_REGISTRY}/nginx:1.27.0-2`, `${E2E_REGISTRY}/nginx:1.28.0-2`], files: {} },
  {
    dockerfile: 'sample-apiserver',
    tags: [`${E2E_REGISTRY}/sample-apiserver:1.29.2`],
    files: { 'kube-sample-apiserver': { artifact: 'e2e-test-binaries', binary: 'kube-sample-apiserver' } },
  },
  {
    dockerfile: 'etcd',
    tags: ['registry.k8s.io/etcd:3.7.0-0'],
    files: { etcd: { artifact: 'etcd', binary: 'etcd' }, etcdctl: { artifact: 'etcd', binary: 'etcdctl' } },
  },
  {
    dockerfile: 'webpage',
    tags: [`${E2E_REGISTRY}/kitten:1.8`],
    from: AGNHOST,
    files: {
      'html/kitten.jpg': { moduleFile: 'test/images/kitten/html/kitten.jpg' },
      'html/data.json': { moduleFile: 'test/images/kitten/html/data.json' },
    },
  },
  {
    dockerfile: 'webpage',
    tags: [`${E2E_REGISTRY}/nautilus:1.8`],
    from: AGNHOST,
    files: {
      'html/nautilus.jpg': { moduleFile: 'test/images/nautilus/html/nautilus.jpg' },
      'html/data.json': { moduleFile: 'test/images/nautilus/html/data.json' },
    },
  },
  { dockerfile: 'nonewprivs', tags: [`${E2E_REGISTRY}/nonewprivs:1.4`], files: { nnp: { artifact: 'e2e-test-binaries', binary: 'nnp' } } },
  { dockerfile: 'nonroot', tags: [`${E2E_REGISTRY}/nonroot:1.5`], files: {} },
  { dockerfile: 'glibc-dns-testing', tags: [`${E2E_REGISTRY}/glibc-dns-testing:2.1.1`], files: {} },
];

/** Every tag the test images carry: what gets loaded into the nodes. */
export function testImageTags(images: TestImage[] = TEST_IMAGES): string[] {
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
  images: TestImage[] = TEST_IMAGES,
): Promise<number> {
  const root = join(projectRoot(), 'images', 'e2e');
  let built = 0;
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
