import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactCache } from '../../src/artifacts/cache.js';
import { artifactByName, artifactsFor, DEFAULT_RELEASE } from '../../src/artifacts/manifest.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { cacheDir } from '../../src/util/paths.js';
import { kubectlFor } from './cluster-helpers.js';
import { kc, testClusterName } from './helpers.js';
import { mirrorPath, startReleaseMirror, type ReleaseMirror } from './release-mirror.js';

/**
 * The release path, end to end, as an online user (or one behind a mirror)
 * meets it: every component with a release download is fetched from
 * KC_RELEASE_MIRROR (a mirror on 127.0.0.1 with each project's real file
 * names and checksum formats), checked, extracted, put into a node image,
 * and a cluster comes up on it. Then one file goes missing (404) and kc
 * builds that component from source instead, saying why.
 */
const execFileAsync = promisify(execFile);
const NAME = testClusterName('mirror');
const IMAGE = `kc/node:${DEFAULT_RELEASE.kubernetes}-mirror`;
const engine = new DockerEngine();
const WITH_RELEASE = artifactsFor(DEFAULT_RELEASE).filter((a) => a.release.length > 0);
const SOURCE_ONLY = artifactsFor(DEFAULT_RELEASE).filter((a) => a.release.length === 0);

let dir: string;
let cache: string;
let mirror: ReleaseMirror;
let kubeconfig: string;

/** kc with a cache of its own and the mirror; a registry never answers for upstream's images here. */
const kcWithMirror = (args: string[]) => kc(args, { KC_CACHE_DIR: cache, KC_RELEASE_MIRROR: mirror.url });

describe('release downloads through KC_RELEASE_MIRROR', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-mirror-'));
    cache = join(dir, 'cache');
    kubeconfig = join(dir, 'kubeconfig');
    mirror = await startReleaseMirror(join(dir, 'mirror'), WITH_RELEASE);
    // Components that publish no binary come from a source build anyway: the
    // ones the e2e set-up made, so this test builds nothing it does not test.
    const real = new ArtifactCache(cacheDir());
    const own = new ArtifactCache(cache);
    for (const artifact of SOURCE_ONLY) await cp(real.entryDir(artifact, 'source'), own.entryDir(artifact, 'source'), { recursive: true });
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
  }, 600_000);

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await execFileAsync('docker', ['image', 'rm', '--force', IMAGE]).catch(() => undefined);
    await mirror?.close();
    await rm(dir, { recursive: true, force: true });
  }, 600_000);

  it('downloads, checks and extracts every release, builds the node image from them, and a cluster comes up on it', async () => {
    const built = await kcWithMirror(['build', 'node-image', '--image', IMAGE]);
    expect(built.code, built.stderr).toBe(0);
    for (const artifact of WITH_RELEASE) {
      expect(built.stderr, artifact.name).toMatch(new RegExp(`✓ ${artifact.name} ${artifact.version.replace(/\./g, '\\.')} \\(release download\\)`));
    }
    for (const artifact of SOURCE_ONLY) {
      expect(built.stderr, artifact.name).toMatch(new RegExp(`✓ ${artifact.name} ${artifact.version.replace(/\./g, '\\.')} \\(cached, built from Go module\\)`));
    }
    expect(built.stderr).not.toContain('the release download failed');
    expect(await engine.imageLabels(IMAGE)).toMatchObject({ 'dev.kc.kubernetes-version': DEFAULT_RELEASE.kubernetes });

    const created = await kc(['create', 'cluster', '--name', NAME, '--image', IMAGE, '--control-planes', '1', '--workers', '1', '--kubeconfig', kubeconfig]);
    expect(created.code, created.stderr).toBe(0);
    const kubectl = kubectlFor(kubeconfig, `kc-${NAME}`);
    const ready = await kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
    expect(ready.trim()).toBe(`${NAME}-worker-0=True`);
    // The binaries the node runs are the downloaded ones, byte for byte.
    const own = new ArtifactCache(cache);
    const kubelet = await own.lookup(artifactByName('kubernetes'), 'release');
    const inNode = await execFileAsync('docker', ['exec', `${NAME}-worker-0`, 'sha256sum', '/usr/local/bin/kubelet']);
    expect(inNode.stdout.split(/\s/)[0]).toBe(kubelet?.record.binaries.kubelet);
  }, 1_800_000);

  it('builds a component from source when its release file is missing (404), and says why in one line', async () => {
    const crictl = artifactByName('crictl');
    const own = new ArtifactCache(cache);
    await rm(own.entryDir(crictl, 'release'), { recursive: true, force: true });
    const archive = mirrorPath(crictl.release[0]?.url ?? '');
    mirror.missing.add(archive);
    const built = await kcWithMirror(['build', 'node-image', '--image', IMAGE]);
    expect(built.code, built.stderr).toBe(0);
    const why = built.stderr.split('\n').filter((line) => line.includes('the release download failed')).map((line) => line.trim());
    expect(why).toEqual([
      `crictl ${crictl.version}: the release download failed (cannot download ${mirror.url.replace(/\/$/, '')}${archive}: HTTP 404): building it from source instead`,
    ]);
    expect(built.stderr).toMatch(new RegExp(`✓ crictl ${crictl.version.replace(/\./g, '\\.')} \\(built from Go module\\)`));
    expect(await own.lookup(crictl, 'source')).toBeDefined();
  }, 1_800_000);
});
