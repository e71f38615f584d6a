import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactCache, type ArtifactSource } from '../../src/artifacts/cache.js';
import { artifactsFor, DEFAULT_RELEASE, podImagesFor, requireRelease, type Artifact } from '../../src/artifacts/manifest.js';
import { ReleaseDownloadError } from '../../src/artifacts/release.js';
import { PUBLISHED_NODE_IMAGE_REPOSITORY } from '../../src/config/defaults.js';
import { validateImageReference } from '../../src/config/validate.js';
import { buildNodeImage, LABEL_NODE_IMAGE_INPUTS, readyNodeImage, type NodeImageOptions } from '../../src/image/node-image.js';
import { publishedNodeImage, publishedRepository, pushTargets } from '../../src/image/published.js';
import { LABEL_KUBERNETES_VERSION, LABEL_RECIPE, nodeImageLabels, nodeImageRecipe } from '../../src/image/recipe.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { isImageReference } from '../../src/util/image-ref.js';
import { createProgress, silentProgress } from '../../src/util/progress.js';
import { capturedStream } from './helpers.js';

const RELEASE = DEFAULT_RELEASE;
const POD_IMAGES = podImagesFor(RELEASE);
const UPSTREAM_POD_IMAGES = Object.values(POD_IMAGES).filter((tag) => tag !== POD_IMAGES.cloudController);

describe('pod images on a machine where a registry answers', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kc-pod-images-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Builds the node image on a fake engine; returns the artifacts produced and what the build printed. */
  async function build(engine: FakeEngine, source: NodeImageOptions['source'] = 'auto'): Promise<{ produced: string[]; text: string }> {
    const produced: string[] = [];
    const produce = async (artifact: Artifact, from: ArtifactSource, binDir: string) => {
      if (from === 'release' && artifact.release.length > 0) {
        produced.push(artifact.name);
      } else if (from === 'release') {
        throw new ReleaseDownloadError(artifact.name, 'no release');
      } else {
        produced.push(`${artifact.name} (source)`);
      }
      for (const binary of artifact.binaries) await writeFile(join(binDir, binary), `${artifact.name} ${binary}\n`, { mode: 0o755 });
    };
    const out = capturedStream();
    await buildNodeImage({ engine, progress: createProgress('normal', out.stream), tag: 'kc/node:v1.37.2', cache: new ArtifactCache(root), produce, source });
    return { produced, text: out.text() };
  }

  it('pulls upstream\'s pod images before anything else, and neither downloads nor builds their components', async () => {
    const engine = new FakeEngine({ images: ['debian:bookworm-slim'], pullable: UPSTREAM_POD_IMAGES });
    const { produced, text } = await build(engine);
    // kc's cloud controller is published nowhere: always kc's own build.
    expect(produced).toEqual(['kubernetes', 'etcd', 'containerd', 'runc', 'cni-plugins', 'crictl', 'kube-router', 'cloud-controller (source)']);
    expect(engine.calls.filter((c) => c.startsWith('buildImage'))).toEqual([`buildImage ${POD_IMAGES.cloudController}`, 'buildImage kc/node:v1.37.2']);
    expect(engine.calls).not.toContain(`tryPull ${POD_IMAGES.cloudController}`);
    expect(text).toMatch(/✓ Upstream pod images \(pulled pause, coredns, local-path-provisioner, metrics-server, metallb-controller, metallb-speaker, traefik; kc builds cloud-controller/);
    // The decision comes first: no pull after an artifact was produced.
    expect(engine.calls.findIndex((c) => c.startsWith('tryPull'))).toBeLessThan(engine.calls.findIndex((c) => c.startsWith('buildImage')));
  });

  it('builds only the pod images no registry serves, and only their components', async () => {
    const engine = new FakeEngine({ images: ['debian:bookworm-slim'], pullable: [POD_IMAGES.pause, POD_IMAGES.coredns, POD_IMAGES.metricsServer] });
    const { produced, text } = await build(engine);
    expect(produced).toEqual([
      'kubernetes', 'etcd', 'containerd', 'runc', 'cni-plugins', 'crictl', 'kube-router', 'local-path-provisioner (source)', 'metallb (source)', 'cloud-controller (source)', 'traefik',
    ]);
    expect(text).toContain(
      'Upstream pod images (pulled pause, coredns, metrics-server; kc builds local-path-provisioner, metallb-controller, metallb-speaker, cloud-controller, traefik (no registry serves them))',
    );
    expect(engine.calls.filter((c) => c.startsWith('buildImage')).sort()).toEqual(
      ['kc/node:v1.37.2', POD_IMAGES.localPathProvisioner, POD_IMAGES.metallbController, POD_IMAGES.metallbSpeaker, POD_IMAGES.cloudController, POD_IMAGES.traefik]
        .map((t) => `buildImage ${t}`).sort(),
    );
  });

  it('with --source source, pulls nothing and builds every pod image', async () => {
    const engine = new FakeEngine({ images: ['debian:bookworm-slim'], pullable: UPSTREAM_POD_IMAGES });
    const { produced } = await build(engine, 'source');
    expect(engine.calls.some((c) => c.startsWith('tryPull'))).toBe(false);
    expect(produced).toHaveLength(artifactsFor(RELEASE).length);
  });

  it('labels the node image with its version, kc\'s recipe and every component\'s version', async () => {
    const engine = new FakeEngine({ images: ['debian:bookworm-slim'], pullable: UPSTREAM_POD_IMAGES });
    await build(engine);
    const labels = engine.images.get('kc/node:v1.37.2') ?? {};
    expect(labels).toMatchObject({
      [LABEL_KUBERNETES_VERSION]: 'v1.37.2',
      [LABEL_RECIPE]: await nodeImageRecipe(RELEASE),
      'dev.kc.component.etcd': RELEASE.etcd,
      'dev.kc.component.containerd': 'v2.2.9',
      'dev.kc.component.metrics-server': 'v0.8.0',
    });
  });
});

describe('published node images', () => {
  const image = 'kc/node:v1.37.2';
  let published: string;
  let builds: string[];
  beforeEach(async () => {
    published = await publishedNodeImage(PUBLISHED_NODE_IMAGE_REPOSITORY, RELEASE);
    builds = [];
  });

  const buildInto = (engine: FakeEngine) => async (options: NodeImageOptions) => {
    builds.push(options.tag ?? '');
    engine.images.set(options.tag ?? '', { [LABEL_NODE_IMAGE_INPUTS]: 'x', ...(await nodeImageLabels(options.release ?? RELEASE)) });
  };

  async function ready(engine: FakeEngine, name = image): Promise<{ version: string; notes: string[]; info: string }> {
    const notes: string[] = [];
    const out = capturedStream();
    const version = await readyNodeImage(
      { engine, progress: createProgress('normal', out.stream), build: buildInto(engine), image: name, unlabelled: RELEASE.kubernetes },
      (note) => notes.push(note),
    );
    return { version, notes, info: out.text() };
  }

  it('pulls the published image of this kc\'s recipe and names it kc/node:<version>, building nothing', async () => {
    const engine = new FakeEngine();
    engine.pullable.set(published, { [LABEL_NODE_IMAGE_INPUTS]: 'y', ...(await nodeImageLabels(RELEASE)) });
    const { version, notes } = await ready(engine);
    expect(version).toBe('v1.37.2');
    expect(builds).toEqual([]);
    expect(notes.at(-1)).toBe(`pulled ${published}`);
    expect(published).toMatch(new RegExp(`^ghcr\\.io/kc-dev/kc-node:v1\\.37\\.2-[0-9a-f]{12}$`));
    expect(engine.calls).toContain(`tagImage ${published} ${image}`);
    expect(engine.images.get(image)?.[LABEL_RECIPE]).toBe(await nodeImageRecipe(RELEASE));
  });

  it('builds when no registry serves the published image, and says why', async () => {
    const engine = new FakeEngine();
    const { notes } = await ready(engine);
    expect(builds).toEqual([image]);
    expect(notes).toContain(`building ${image}, once; no published image (${published}: not found)`);
  });

  it('does not use a published image whose labels are not this kc\'s: it builds instead', async () => {
    const engine = new FakeEngine();
    engine.pullable.set(published, { [LABEL_KUBERNETES_VERSION]: 'v1.37.2', [LABEL_RECIPE]: '000000000000' });
    const { notes } = await ready(engine);
    expect(builds).toEqual([image]);
    expect(notes.at(-1)).toMatch(/no published image \(.* was made by another kc \(recipe 000000000000, this kc's is [0-9a-f]{12}\)\)$/);
    expect(engine.calls).not.toContain(`tagImage ${published} ${image}`);
  });

  it('makes kc/node:<version> again when another kc made it, and keeps a current one', async () => {
    const engine = new FakeEngine();
    engine.images.set(image, { [LABEL_NODE_IMAGE_INPUTS]: 'old', [LABEL_KUBERNETES_VERSION]: 'v1.37.2' });
    const stale = await ready(engine);
    expect(stale.info).toMatch(/kc\/node:v1\.37\.2 was made by another kc \(recipe \(no label\), this kc's is [0-9a-f]{12}\): making it again/);
    expect(builds).toEqual([image]);
    const current = await ready(engine);
    expect(builds).toEqual([image]);
    expect(current.notes).toEqual([image]);
  });

  it('pulls an image the user names, and names the fix when it cannot', async () => {
    const engine = new FakeEngine();
    engine.pullable.set('localhost:5001/kc-node:v1.37.2', await nodeImageLabels(RELEASE));
    const pulled = await ready(engine, 'localhost:5001/kc-node:v1.37.2');
    expect(pulled.notes.at(-1)).toBe('pulled localhost:5001/kc-node:v1.37.2');
    await expect(ready(engine, 'localhost:5001/other:v1')).rejects.toThrow(
      'node image localhost:5001/other:v1 is not on this engine and cannot be pulled (not found): build it with `kc build node-image --image localhost:5001/other:v1`, or check the name',
    );
    expect(builds).toEqual([]);
  });

  it('warns when an image the user names was made by another kc', async () => {
    const engine = new FakeEngine();
    engine.images.set('my/node:x', { [LABEL_KUBERNETES_VERSION]: 'v1.36.3', [LABEL_RECIPE]: 'abcdefabcdef' });
    const { version, info } = await ready(engine, 'my/node:x');
    expect(version).toBe('v1.36.3');
    expect(info).toContain(`warning: my/node:x was made by another kc (recipe abcdefabcdef, this kc's is ${await nodeImageRecipe(requireRelease('v1.36.3'))})`);
  });

  it('looks in KC_NODE_IMAGE_REPOSITORY, or nowhere for none, and refuses a name with a tag', async () => {
    expect(publishedRepository({})).toBe(PUBLISHED_NODE_IMAGE_REPOSITORY);
    expect(publishedRepository({ KC_NODE_IMAGE_REPOSITORY: 'localhost:5001/kc-node' })).toBe('localhost:5001/kc-node');
    expect(publishedRepository({ KC_NODE_IMAGE_REPOSITORY: 'none' })).toBeUndefined();
    expect(() => publishedRepository({ KC_NODE_IMAGE_REPOSITORY: 'ghcr.io/x/kc-node:v1' })).toThrow(/is not a repository name: set it to one without a tag/);
    const engine = new FakeEngine();
    const notes: string[] = [];
    const previous = process.env.KC_NODE_IMAGE_REPOSITORY;
    process.env.KC_NODE_IMAGE_REPOSITORY = 'none';
    try {
      await readyNodeImage({ engine, progress: silentProgress, build: buildInto(engine), image, unlabelled: 'v1.37.2' }, (n) => notes.push(n));
    } finally {
      if (previous === undefined) delete process.env.KC_NODE_IMAGE_REPOSITORY;
      else process.env.KC_NODE_IMAGE_REPOSITORY = previous;
    }
    expect(engine.calls.some((c) => c.startsWith('pullImage'))).toBe(false);
    expect(notes).toContain(`building ${image}, once; no published image (KC_NODE_IMAGE_REPOSITORY=none)`);
  });

  it('pushes a bare repository under the version\'s tag and the recipe\'s, a tagged name as given', async () => {
    expect(await pushTargets('ghcr.io/owner/kc-node', RELEASE)).toEqual(['ghcr.io/owner/kc-node:v1.37.2', await publishedNodeImage('ghcr.io/owner/kc-node', RELEASE)]);
    expect(await pushTargets('localhost:5001/kc-node:mine', RELEASE)).toEqual(['localhost:5001/kc-node:mine']);
  });

  it('keeps one recipe for one release, and another for another', async () => {
    expect(await nodeImageRecipe(RELEASE)).toBe(await nodeImageRecipe(RELEASE));
    expect(await nodeImageRecipe(requireRelease('v1.36.3'))).not.toBe(await nodeImageRecipe(RELEASE));
  });
});

describe('image references', () => {
  it('takes registry hosts with ports, and refuses what Docker would', () => {
    for (const good of ['kc/node:v1.37.2', 'localhost:5001/kc-node:v1.37.2', 'ghcr.io/owner/kc-node', 'registry.example.com:443/a/b_c:1.0', 'node']) {
      expect(isImageReference(good), good).toBe(true);
    }
    for (const bad of ['Kc/node', 'kc/node:', 'kc//node', 'kc/node:v1:v2', ':tag', 'kc/node@sha256:abc', 'http://ghcr.io/a']) {
      expect(isImageReference(bad), bad).toBe(false);
    }
    expect(() => validateImageReference('nodeImage', 'localhost:5001/kc-node:v1.37.2')).not.toThrow();
    expect(() => validateImageReference('nodeImage', 'Kc/Node')).toThrow(/use an image reference such as kc\/node:v1\.37\.2/);
  });
});
