import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactCache, type ArtifactSource } from '../../src/artifacts/cache.js';
import { artifactByName, type Artifact } from '../../src/artifacts/manifest.js';
import { coldBuildEstimate } from '../../src/artifacts/resolve.js';
import { ReleaseDownloadError } from '../../src/artifacts/release.js';
import { buildNodeImage } from '../../src/image/node-image.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { createProgress } from '../../src/util/progress.js';
import { capturedStream } from './helpers.js';


/** The real manifest's entries (names, versions, binaries), produced by a stub instead of a download or a Go build. */
const ARTIFACTS: Artifact[] = ['kubernetes', 'containerd', 'pause', 'coredns', 'local-path-provisioner', 'metrics-server', 'metallb', 'cloud-controller', 'traefik']
  .map((name) => artifactByName(name));

describe('node image build progress (a first run, as CI logs show it)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kc-progress-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** No release site answers; Go builds "take" 60 ms each; containerd is cached already. */
  async function firstRun(): Promise<string> {
    const cache = new ArtifactCache(root);
    const fill = async (artifact: Artifact, binDir: string) => {
      for (const binary of artifact.binaries) await writeFile(join(binDir, binary), `${artifact.name} ${binary}\n`, { mode: 0o755 });
    };
    const containerd = ARTIFACTS.find((a) => a.name === 'containerd') as Artifact;
    await cache.store(containerd, 'release', (binDir) => fill(containerd, binDir));
    const produce = async (artifact: Artifact, source: ArtifactSource, binDir: string) => {
      if (source === 'release') throw new ReleaseDownloadError(`https://example.invalid/${artifact.name}`, 'ENOTFOUND');
      await new Promise((resolve) => setTimeout(resolve, 60));
      await fill(artifact, binDir);
    };
    const out = capturedStream();
    const progress = createProgress('normal', out.stream, { heartbeatMs: 25 });
    const engine = new FakeEngine({ images: ['debian:bookworm-slim'] });
    // As `kc create cluster` does: the build's parts nested under its "Ensuring node image" step.
    await progress.step('Ensuring node image', (note) => {
      note('building kc/node:test, once');
      return buildNodeImage({ engine, progress: progress.nested(), tag: 'kc/node:test', artifacts: ARTIFACTS, cache, produce });
    });
    expect(engine.images.get('kc/node:test')).toBeDefined();
    return out.text();
  }

  it('says up front how long a cold build takes, then shows each artifact with its version, source and time', async () => {
    const text = await firstRun();
    const lines = text.split('\n');
    expect(lines[0]).toBe(' • Ensuring node image ...');
    expect(text).toContain(
      '   8 artifacts not cached yet: kubernetes, pause, coredns, local-path-provisioner, metrics-server, metallb, cloud-controller, traefik; release downloads take a minute or two, ' +
        'but where no release site answers building them from their Go modules takes about 16 min on 2 cores ' +
        '(kubernetes ~6 min, traefik ~5 min, metrics-server ~2 min, coredns ~2 min, metallb ~1 min), less with more cores. Once cached, later runs take seconds.\n',
    );
    expect(text).toMatch(/\n {3}• kubernetes v1\.37\.2 \.\.\.\n/);
    expect(text).toMatch(/\n {3}✓ kubernetes v1\.37\.2 \(built from Go module\) \d+\.\ds\n/);
    expect(text).toMatch(/\n {3}✓ containerd v2\.2\.9 \(cached, release download\) \d+\.\ds\n/);
    expect(text).toMatch(/\n {3}✓ pause 3\.10\.2 \(built from Go module\) \d+\.\ds\n/);
    expect(text).toMatch(/\n {3}✓ coredns v1\.14\.6 \(built from Go module\) \d+\.\ds\n/);
    // A long build is never silent in a log: it says what it is doing while it runs.
    expect(text).toMatch(/\n {5}kubernetes v1\.37\.2 \(building from Go module k8s\.io\/kubernetes\): still running, \d+\.\ds\n/);
    expect(text).toMatch(/\n {3}✓ Node image kc\/node:test \d+\.\ds\n/);
    expect(lines.at(-2)).toMatch(/^ ✓ Ensuring node image \(building kc\/node:test, once\) \d+\.\ds$/);
    // Every artifact in manifest order, the estimate before the first of them.
    const order = ['not cached yet', '• kubernetes', '• containerd', '• pause', '• coredns', '• Node image'].map((s) => text.indexOf(s));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('says nothing about build times when every artifact is cached', async () => {
    await firstRun();
    const out = capturedStream();
    const engine = new FakeEngine({ images: ['debian:bookworm-slim'] });
    await buildNodeImage({
      engine, progress: createProgress('normal', out.stream), tag: 'kc/node:test', artifacts: ARTIFACTS, cache: new ArtifactCache(root),
      produce: () => Promise.reject(new Error('nothing may be produced on a warm run')),
    });
    expect(out.text()).not.toContain('not cached yet');
    expect(out.text()).toMatch(/ ✓ kubernetes v1\.37\.2 \(cached, built from Go module\) \d+\.\ds\n/);
  });

  it('estimates the whole pinned set at about the measured cold build on 2 cores', () => {
    const all = ['kubernetes', 'etcd', 'containerd', 'runc', 'cni-plugins', 'crictl', 'coredns', 'kube-router', 'pause'].map((name) => artifactByName(name));
    // Measured in a cold .ci/run (December 2026, commit c274e0a): 10m36s for these nine.
    expect(coldBuildEstimate(all, 'source')).toMatch(/takes about 11 min on 2 cores \(kubernetes ~6 min, coredns ~2 min, kube-router ~1 min\)/);
    expect(coldBuildEstimate([], 'auto')).toBeUndefined();
  });
});
