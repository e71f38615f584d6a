import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactCache } from '../../src/artifacts/cache.js';
import { artifactByName, artifactsFor, DEFAULT_RELEASE, KUBE_ROUTER_RAISED_DEPENDENCIES, KUBERNETES_VERSION, type Artifact } from '../../src/artifacts/manifest.js';

const ARTIFACTS = artifactsFor(DEFAULT_RELEASE);
import { ChecksumMismatchError, digestFromChecksumFile, fetchRelease, mirrored, ReleaseDownloadError, releaseEnvironment } from '../../src/artifacts/release.js';
import { resolveArtifact, sourceOrder } from '../../src/artifacts/resolve.js';
import { defaultBinaryName, goLdflags, localReplacePins, localReplaces, renderBuildModule, requiredModules } from '../../src/artifacts/source.js';
import { projectRoot } from '../../src/util/paths.js';

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');

describe('manifest', () => {
  it('names every artifact once and gives each binary a source', () => {
    const names = ARTIFACTS.map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
    for (const artifact of ARTIFACTS) {
      expect(artifact.binaries.length).toBeGreaterThan(0);
      if (artifact.source.kind === 'go') {
        const local = artifact.source.localMain ? [artifact.source.localMain.binary] : [];
        expect([...Object.values(artifact.source.packages), ...local].sort()).toEqual([...artifact.binaries].sort());
      }
      for (const release of artifact.release) {
        expect(release.url).toMatch(/^https:\/\//);
        expect(release.url).toContain(artifact.version.replace(/^v/, ''));
      }
    }
  });

  it('stamps Kubernetes binaries with the pinned version, not v0.0.0', () => {
    const k8s = ARTIFACTS.find((a) => a.name === 'kubernetes');
    if (k8s?.source.kind !== 'go') throw new Error('kubernetes must be a Go build');
    const flags = goLdflags(k8s.source);
    expect(flags).toContain(`-X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION}`);
    expect(flags).toContain(`-X k8s.io/client-go/pkg/version.gitVersion=${KUBERNETES_VERSION}`);
    expect(k8s.source.localReplacesAt).toEqual({ module: 'k8s.io/kubernetes', version: 'v0.37.2' });
  });

  it('offers one release download per binary, or archives that extract every binary', () => {
    for (const artifact of ARTIFACTS.filter((a) => a.release.length > 0)) {
      const fromArchives = artifact.release.flatMap((r) => Object.values(r.extract ?? {}));
      const direct = artifact.release.filter((r) => !r.extract).length;
      expect(fromArchives.length + direct, artifact.name).toBe(artifact.binaries.length);
    }
  });
});

describe('source builds', () => {
  it('pins the sha256 of every main package kc ships, so a changed file is a new revision, never a stale cached build', async () => {
    for (const artifact of ARTIFACTS) {
      if (artifact.source.kind !== 'go' || !artifact.source.localMain) continue;
      const { folder, sha256: pinned } = artifact.source.localMain;
      const actual = sha256(await readFile(join(projectRoot(), folder, 'main.go'), 'utf8'));
      expect(actual, `${folder}/main.go changed: give ${artifact.name} a new revision in its version and pin ${actual}`).toBe(pinned);
    }
  });

  it('points k8s.io/kubernetes staging replaces at their published twins', () => {
    const goMod = [
      'module k8s.io/kubernetes',
      'replace (',
      '\tk8s.io/api => ./staging/src/k8s.io/api',
      '\tk8s.io/client-go => ./staging/src/k8s.io/client-go',
      '\tgithub.com/foo/bar => github.com/foo/bar v1.2.3',
      ')',
      'replace k8s.io/kubectl => ./staging/src/k8s.io/kubectl',
    ].join('\n');
    expect(localReplaces(goMod)).toEqual(['k8s.io/api', 'k8s.io/client-go', 'k8s.io/kubectl']);
    const rendered = renderBuildModule('kubernetes', '1.26.8', { kind: 'go', modules: { 'k8s.io/kubernetes': 'v1.37.2' }, packages: {} }, {
      'k8s.io/api': 'k8s.io/api v0.37.2',
    });
    expect(rendered).toContain('\tk8s.io/kubernetes v1.37.2');
    expect(rendered).toContain('\tk8s.io/api => k8s.io/api v0.37.2');
  });

  it('requires the staging siblings k8s.io/kubernetes requires at their twins\' version, so every build of that release shares one build cache', () => {
    const goMod = [
      'module k8s.io/kubernetes',
      'require (',
      '\tgithub.com/onsi/ginkgo/v2 v2.32.0',
      '\tk8s.io/api v0.0.0',
      '\tk8s.io/client-go v0.0.0 // indirect',
      ')',
      'require k8s.io/kubectl v0.0.0',
      'replace (',
      '\tk8s.io/api => ./staging/src/k8s.io/api',
      '\tk8s.io/client-go => ./staging/src/k8s.io/client-go',
      '\tk8s.io/kubectl => ./staging/src/k8s.io/kubectl',
      // Replaced but required by nothing (the proxy may not even serve it): no require line.
      '\tk8s.io/sample-cli-plugin => ./staging/src/k8s.io/sample-cli-plugin',
      ')',
    ].join('\n');
    expect(requiredModules(goMod)).toEqual(['github.com/onsi/ginkgo/v2', 'k8s.io/api', 'k8s.io/client-go', 'k8s.io/kubectl']);
    const pins = localReplacePins(goMod, 'v0.37.2');
    expect(pins.requires).toEqual({ 'k8s.io/api': 'v0.37.2', 'k8s.io/client-go': 'v0.37.2', 'k8s.io/kubectl': 'v0.37.2' });
    expect(Object.keys(pins.replaces)).toEqual(['k8s.io/api', 'k8s.io/client-go', 'k8s.io/kubectl', 'k8s.io/sample-cli-plugin']);
    // The suite and the binaries render the same requires for the siblings, whatever else each builds.
    const suite = renderBuildModule('kubernetes-e2e', '1.26.8', { kind: 'go', modules: { 'k8s.io/kubernetes': 'v1.37.2' }, packages: {} }, pins.replaces, pins.requires);
    const required = suite.split('\n').filter((line) => /^\t\S+ v\S+$/.test(line)).map((line) => line.trim());
    expect(required).toEqual(['k8s.io/api v0.37.2', 'k8s.io/client-go v0.37.2', 'k8s.io/kubectl v0.37.2', 'k8s.io/kubernetes v1.37.2']);
  });

  it('requires raised dependencies beside the module, so minimal version selection picks their fixed versions', () => {
    const kubeRouter = artifactByName('kube-router');
    if (kubeRouter.source.kind !== 'go') throw new Error('kube-router is a Go build');
    const rendered = renderBuildModule('kube-router', '1.26.8', kubeRouter.source, {});
    const required = rendered.split('\n').filter((line) => line.startsWith('\t')).map((line) => line.trim());
    expect(required).toEqual([
      'github.com/cloudnativelabs/kube-router/v2 v2.1.0',
      ...Object.entries(KUBE_ROUTER_RAISED_DEPENDENCIES).map(([module, version]) => `${module} ${version}`),
    ]);
    expect(required).toContain('golang.org/x/net v0.62.0');
  });

  it('knows the binary name go build gives a package', () => {
    expect(defaultBinaryName('k8s.io/kubernetes/cmd/kubelet')).toBe('kubelet');
    expect(defaultBinaryName('go.etcd.io/etcd/server/v3')).toBe('server');
    expect(defaultBinaryName('github.com/opencontainers/runc')).toBe('runc');
  });
});

describe('choice of source', () => {
  const withRelease = ARTIFACTS.find((a) => a.release.length > 0) as Artifact;
  const sourceOnly = ARTIFACTS.find((a) => a.release.length === 0) as Artifact;

  it('auto prefers the release and falls back to source', () => {
    expect(sourceOrder('auto', withRelease)).toEqual(['release', 'source']);
    expect(sourceOrder('auto', sourceOnly)).toEqual(['source']);
    expect(sourceOrder('release', withRelease)).toEqual(['release']);
    expect(sourceOrder('source', withRelease)).toEqual(['source']);
  });
});

describe('checksum files', () => {
  it('reads bare digests and sha256sum lines', () => {
    const digest = 'a'.repeat(64);
    expect(digestFromChecksumFile(`${digest}\n`, 'kubectl')).toBe(digest);
    expect(digestFromChecksumFile(`${'b'.repeat(64)}  other.tgz\n${digest}  ./etcd.tar.gz\n`, 'etcd.tar.gz')).toBe(digest);
    expect(digestFromChecksumFile('not a digest', 'x')).toBeUndefined();
  });
});

/** A real HTTP server on loopback that serves release files, some deliberately corrupted. */
describe('release downloads and the cache', () => {
  let server: Server;
  let base: string;
  let root: string;
  const files: Record<string, string> = {};
  /** A file the server refuses to hand out, as a rate-limited site does. */
  const FORBIDDEN = '\u0000forbidden';

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'kc-cache-test-'));
    server = createServer((req, res) => {
      const body = files[req.url ?? ''];
      if (body === undefined || body === FORBIDDEN) {
        res.writeHead(body === FORBIDDEN ? 403 : 404).end();
        return;
      }
      res.writeHead(200).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    base = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    server.close();
    await rm(root, { recursive: true, force: true });
  });

  const fakeArtifact = (name: string, body: string, published: string): Artifact => {
    files[`/${name}/tool`] = body;
    files[`/${name}/tool.sha256`] = `${published}\n`;
    return {
      name,
      version: 'v1.0.0',
      binaries: ['tool'],
      release: [{ url: `${base}/${name}/tool`, checksum: { sha256Url: `${base}/${name}/tool.sha256` } }],
      source: { kind: 'go', modules: {}, packages: {} },
      sourceBuildMinutes: 0,
    };
  };

  it('downloads, checks and caches a release; the second time it downloads nothing', async () => {
    const cache = new ArtifactCache(root);
    const artifact = fakeArtifact('good', '#!/bin/sh\necho good\n', sha256('#!/bin/sh\necho good\n'));
    const first = await resolveArtifact(artifact, { cache, choice: 'auto' });
    expect(first.cached).toBe(false);
    expect(first.entry.record.source).toBe('release');
    expect(await readFile(join(first.entry.binDir, 'tool'), 'utf8')).toContain('echo good');
    delete files['/good/tool'];
    const second = await resolveArtifact(artifact, { cache, choice: 'auto' });
    expect(second.cached).toBe(true);
    expect(second.entry.binDir).toBe(first.entry.binDir);
  });

  /** The real release download, and a source build that writes a marker: what resolveArtifact turns to. */
  const releaseOrBuilt = (options: { mirror?: string } = {}) => async (artifact: Artifact, source: string, binDir: string) => {
    if (source === 'release') await fetchRelease(artifact, binDir, options);
    else await writeFile(join(binDir, 'tool'), 'built from source');
  };

  it('refuses a corrupted download with a clear error and caches nothing, with --source release', async () => {
    const cache = new ArtifactCache(root);
    const artifact = fakeArtifact('corrupt', 'tampered bytes', sha256('the real bytes'));
    const attempt = resolveArtifact(artifact, { cache, choice: 'release' });
    await expect(attempt).rejects.toBeInstanceOf(ChecksumMismatchError);
    await expect(resolveArtifact(artifact, { cache, choice: 'release' })).rejects.toThrow(
      /checksum mismatch for .*corrupt\/tool: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}/,
    );
    expect(await cache.lookup(artifact, 'release')).toBeUndefined();
    const left = await readdir(join(root, 'artifacts', 'corrupt', 'v1.0.0')).catch(() => []);
    expect(left).toEqual([]);
  });

  it('in auto, builds from source when the release is missing (404), forbidden (403) or corrupted, and says why', async () => {
    const cache = new ArtifactCache(root);
    const missing = fakeArtifact('missing', 'x', sha256('x'));
    delete files['/missing/tool'];
    const forbidden = fakeArtifact('forbidden', 'x', sha256('x'));
    files['/forbidden/tool'] = FORBIDDEN;
    const corrupted = fakeArtifact('corrupted', 'tampered', sha256('the real bytes'));
    const reasons: Record<string, string> = {};
    for (const artifact of [missing, forbidden, corrupted]) {
      const result = await resolveArtifact(artifact, {
        cache,
        choice: 'auto',
        produce: releaseOrBuilt(),
        onFallback: (reason) => (reasons[artifact.name] = reason),
      });
      expect(result.entry.record.source, artifact.name).toBe('source');
      expect(await readFile(join(result.entry.binDir, 'tool'), 'utf8')).toBe('built from source');
      expect(await cache.lookup(artifact, 'release'), `${artifact.name}: no release entry is cached`).toBeUndefined();
    }
    expect(reasons.missing).toBe(`cannot download ${base}/missing/tool: HTTP 404`);
    expect(reasons.forbidden).toBe(`cannot download ${base}/forbidden/tool: HTTP 403`);
    expect(reasons.corrupted).toMatch(/^checksum mismatch for .*corrupted\/tool/);
  });

  it('names both failures when the source build fails after the release download did', async () => {
    const cache = new ArtifactCache(root);
    const artifact = fakeArtifact('nowhere', 'x', sha256('x'));
    delete files['/nowhere/tool'];
    const produce = async (a: Artifact, source: string, binDir: string) => {
      if (source === 'release') return fetchRelease(a, binDir);
      throw new Error('go: module not served');
    };
    await expect(resolveArtifact(artifact, { cache, choice: 'auto', produce })).rejects.toThrow(
      `nowhere v1.0.0: the release download failed (cannot download ${base}/nowhere/tool: HTTP 404), and so did the source build: go: module not served`,
    );
  });

  it('treats an unreachable release site as a failed download', async () => {
    const cache = new ArtifactCache(root);
    // A port that was just free: nothing listens there, so the connection is refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const artifact: Artifact = {
      name: 'offline',
      version: 'v1.0.0',
      binaries: ['tool'],
      release: [{ url: `http://127.0.0.1:${port}/tool`, checksum: { sha256: 'a'.repeat(64) } }],
      source: { kind: 'go', modules: {}, packages: {} },
      sourceBuildMinutes: 0,
    };
    const attempt = resolveArtifact(artifact, { cache, choice: 'release' });
    await expect(attempt).rejects.toBeInstanceOf(ReleaseDownloadError);
    await expect(resolveArtifact(artifact, { cache, choice: 'release' })).rejects.toThrow('ECONNREFUSED');
  });

  it('fetches every file from KC_RELEASE_MIRROR under the release site\'s host name, checksums too', async () => {
    const cache = new ArtifactCache(root);
    const artifact: Artifact = {
      name: 'mirrored',
      version: 'v1.0.0',
      binaries: ['tool'],
      release: [{ url: 'https://releases.example.org/v1.0.0/tool', checksum: { sha256Url: 'https://releases.example.org/v1.0.0/tool.sha256' } }],
      source: { kind: 'go', modules: {}, packages: {} },
      sourceBuildMinutes: 0,
    };
    files['/releases.example.org/v1.0.0/tool'] = 'from the mirror';
    files['/releases.example.org/v1.0.0/tool.sha256'] = `${sha256('from the mirror')}  tool\n`;
    const { mirror } = releaseEnvironment({ KC_RELEASE_MIRROR: `${base}/` });
    expect(mirror).toBe(base);
    const result = await resolveArtifact(artifact, { cache, choice: 'release', mirror });
    expect(await readFile(join(result.entry.binDir, 'tool'), 'utf8')).toBe('from the mirror');
    expect(mirrored('https://dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubelet', 'https://m.example/kc')).toBe(
      'https://m.example/kc/dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubelet',
    );
  });

  it('refuses a KC_RELEASE_MIRROR that is not an http(s) URL, naming the fix', () => {
    expect(() => releaseEnvironment({ KC_RELEASE_MIRROR: 'mirror.example.com' })).toThrow(
      /KC_RELEASE_MIRROR="mirror.example.com" is not an http\(s\) URL: set it to the base URL of a mirror/,
    );
    expect(releaseEnvironment({ KC_RELEASE_MIRROR: '' })).toEqual({});
  });

  it('checks a binary that has no checksum file against the sha256 GitHub records for the release asset', async () => {
    const cache = new ArtifactCache(root);
    const artifact: Artifact = {
      name: 'github-asset',
      version: 'v0.8.0',
      binaries: ['tool'],
      release: [{ url: 'https://github.com/owner/project/releases/download/v0.8.0/tool-linux-amd64', checksum: { githubRelease: { repository: 'owner/project', tag: 'v0.8.0' } } }],
      source: { kind: 'go', modules: {}, packages: {} },
      sourceBuildMinutes: 0,
    };
    files['/github.com/owner/project/releases/download/v0.8.0/tool-linux-amd64'] = 'asset bytes';
    const api = '/api.github.com/repos/owner/project/releases/tags/v0.8.0';
    files[api] = JSON.stringify({ assets: [{ name: 'tool-linux-amd64.sha256', digest: null }, { name: 'tool-linux-amd64', digest: `sha256:${sha256('asset bytes')}` }] });
    const result = await resolveArtifact(artifact, { cache, choice: 'release', mirror: base });
    expect(await readFile(join(result.entry.binDir, 'tool'), 'utf8')).toBe('asset bytes');
    files[api] = JSON.stringify({ assets: [{ name: 'tool-linux-amd64', digest: `sha256:${sha256('other bytes')}` }] });
    await rm(cache.entryDir(artifact, 'release'), { recursive: true, force: true });
    await expect(resolveArtifact(artifact, { cache, choice: 'release', mirror: base })).rejects.toBeInstanceOf(ChecksumMismatchError);
  });

  it('produces an artifact once when two kc processes ask for it at the same time: the second waits and takes the first one\'s', async () => {
    const cache = new ArtifactCache(root);
    const artifact = fakeArtifact('contended', 'x', sha256('x'));
    let builds = 0;
    const produce = async (_artifact: Artifact, _source: string, binDir: string) => {
      builds += 1;
      // Long enough for the second request to find the lock taken.
      await new Promise((resolve) => setTimeout(resolve, 400));
      await writeFile(join(binDir, 'tool'), 'built');
    };
    const first = resolveArtifact(artifact, { cache, choice: 'source', produce });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const waited: string[] = [];
    const second = await resolveArtifact(artifact, { cache, choice: 'source', produce, onWait: (source) => waited.push(source) });
    expect(builds).toBe(1);
    expect(waited, 'the second one says it waits for the first').toEqual(['source']);
    expect([(await first).cached, second.cached]).toEqual([false, true]);
    expect(await readFile(join(second.entry.binDir, 'tool'), 'utf8')).toBe('built');
  });

  it('removes the scratch folder a killed producer left behind when it produces the entry', async () => {
    const cache = new ArtifactCache(root);
    const artifact = fakeArtifact('killed', 'x', sha256('x'));
    const leftover = `${cache.entryDir(artifact, 'source')}.partial-99999`;
    await import('node:fs/promises').then((fs) => fs.mkdir(join(leftover, 'bin'), { recursive: true }));
    await resolveArtifact(artifact, { cache, choice: 'source', produce: async (_a, _s, binDir) => writeFile(join(binDir, 'tool'), 'built') });
    const folder = join(cache.entryDir(artifact, 'source'), '..');
    expect(await readdir(folder)).toEqual(['source']);
  });

  it('gives up waiting for another kc producing the same artifact with a message that says so', async () => {
    const cache = new ArtifactCache(root);
    const artifact = fakeArtifact('held', 'x', sha256('x'));
    const slow = async (_artifact: Artifact, _source: string, binDir: string) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await writeFile(join(binDir, 'tool'), 'built');
    };
    const holder = resolveArtifact(artifact, { cache, choice: 'source', produce: slow });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(resolveArtifact(artifact, { cache, choice: 'source', produce: slow, produceLockWaitMs: 300 })).rejects.toThrow(
      /another kc has been producing held v1\.0\.0 for more than/,
    );
    await holder;
  });

  it('ignores an incomplete cache entry (no record: a crash mid-write)', async () => {
    const cache = new ArtifactCache(root);
    const artifact = fakeArtifact('partial', 'x', sha256('x'));
    const dir = cache.entryDir(artifact, 'release');
    await rm(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'bin'), { recursive: true }));
    await writeFile(join(dir, 'bin', 'tool'), 'x');
    expect(await cache.lookup(artifact, 'release')).toBeUndefined();
  });
});
