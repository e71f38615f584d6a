import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { ArtifactCache } from '../../src/artifacts/cache.js';
import type { Artifact, ReleaseSource } from '../../src/artifacts/manifest.js';
import { cacheDir } from '../../src/util/paths.js';

/**
 * A release mirror on 127.0.0.1 for the e2e tests: each project's release
 * files under their real names and in their real shapes (a bare binary, a
 * tarball with the project's own folder layout), with each project's
 * checksum format (a bare digest, sha256sum lines, goreleaser's
 * checksums.txt, GitHub's asset digest in its releases API), at kc's pinned
 * versions. The bytes are kc's own builds of the same versions from the
 * artifact cache: nothing here is upstream's, only the shapes are.
 */

/** How a project publishes the checksum of a file: what kc must read. */
type ChecksumShape = 'bare' | 'sha256sum' | 'github-api';

/** Each project's checksum format, by the artifact's name (checked against each project's release page). */
const CHECKSUM_SHAPES: Record<string, ChecksumShape> = {
  kubernetes: 'bare', // dl.k8s.io/.../kubelet.sha256: the digest alone
  etcd: 'sha256sum', // SHA256SUMS: every file of the release
  containerd: 'sha256sum', // containerd-<v>-linux-amd64.tar.gz.sha256sum
  runc: 'sha256sum', // runc.sha256sum: every binary of the release
  'cni-plugins': 'sha256sum', // cni-plugins-linux-amd64-<v>.tgz.sha256
  crictl: 'bare', // crictl-<v>-linux-amd64.tar.gz.sha256: the digest alone
  coredns: 'sha256sum', // coredns_<v>_linux_amd64.tgz.sha256
  'kube-router': 'sha256sum', // goreleaser's checksums.txt
  'metrics-server': 'github-api', // no checksum file: GitHub's asset digest
  traefik: 'sha256sum', // goreleaser's traefik_<v>_checksums.txt
};

/** Other architectures a multi-file checksum list names before ours, so kc must pick its own line. */
const NEIGHBOURS = ['arm64', 's390x'];

export interface ReleaseMirror {
  /** KC_RELEASE_MIRROR for kc. */
  url: string;
  /** The mirror paths of every release file and checksum it serves. */
  paths: string[];
  /** Paths answered with 404 from now on. */
  missing: Set<string>;
  close(): Promise<void>;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** A release URL's place in the mirror: its host, then its path. */
export function mirrorPath(url: string): string {
  const { host, pathname } = new URL(url);
  return `/${host}${pathname}`;
}

/** The cached binary kc built (or downloaded) for an artifact, links followed. */
async function cachedBinary(artifact: Artifact, binary: string): Promise<string> {
  const cache = new ArtifactCache(cacheDir());
  const entry = (await cache.lookup(artifact, 'source')) ?? (await cache.lookup(artifact, 'release'));
  if (!entry) throw new Error(`${artifact.name} ${artifact.version} is not in kc's cache: the e2e set-up builds the node image first`);
  return realpath(join(entry.binDir, binary));
}

/** A .tar.gz holding the artifact's binaries under the archive paths the release uses. */
async function writeArchive(path: string, artifact: Artifact, extract: Record<string, string>): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, createGzip(), createWriteStream(path));
  for (const [inside, binary] of Object.entries(extract)) {
    const source = await cachedBinary(artifact, binary);
    const { size } = await stat(source);
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name: inside, size, mode: 0o755, mtime: new Date(0) }, (error) => (error ? reject(error) : resolve()));
      createReadStream(source).on('error', reject).pipe(entry);
    });
  }
  pack.finalize();
  await done;
}

/** Writes one release file and its checksum the way the project publishes them; returns the mirror paths written. */
async function writeRelease(root: string, artifact: Artifact, source: ReleaseSource, index: number): Promise<string[]> {
  const filePath = mirrorPath(source.url);
  const file = join(root, filePath);
  await mkdir(dirname(file), { recursive: true });
  if (source.extract) {
    await writeArchive(file, artifact, source.extract);
  } else {
    const binary = artifact.binaries[index];
    if (!binary) throw new Error(`${artifact.name}: no binary for ${source.url}`);
    await writeFile(file, await readFile(await cachedBinary(artifact, binary)));
  }
  const digest = await fileSha256(file);
  const name = basename(file);
  const shape = CHECKSUM_SHAPES[artifact.name];
  const checksum = source.checksum;
  if ('sha256Url' in checksum) {
    const text =
      shape === 'bare'
        ? `${digest}\n`
        : [...NEIGHBOURS.map((arch) => `${sha256(arch)}  ${name.replace('amd64', arch)}`), `${digest}  ${name}`].join('\n') + '\n';
    const checksumPath = mirrorPath(checksum.sha256Url);
    await mkdir(dirname(join(root, checksumPath)), { recursive: true });
    await writeFile(join(root, checksumPath), text);
    return [filePath, checksumPath];
  }
  if ('githubRelease' in checksum) {
    const { repository, tag } = checksum.githubRelease;
    const apiPath = `/api.github.com/repos/${repository}/releases/tags/${tag}`;
    await mkdir(dirname(join(root, apiPath)), { recursive: true });
    const assets = [
      { name: 'components.yaml', digest: `sha256:${sha256('components')}` },
      { name, digest: `sha256:${digest}`, browser_download_url: source.url },
    ];
    await writeFile(join(root, apiPath), JSON.stringify({ tag_name: tag, assets }));
    return [filePath, apiPath];
  }
  return [filePath];
}

/** Writes every release file of these artifacts under `root`, then serves `root` on 127.0.0.1. */
export async function startReleaseMirror(root: string, artifacts: Artifact[]): Promise<ReleaseMirror> {
  const paths: string[] = [];
  for (const artifact of artifacts) {
    for (const [index, source] of artifact.release.entries()) paths.push(...(await writeRelease(root, artifact, source, index)));
  }
  const missing = new Set<string>();
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://mirror').pathname);
    if (!paths.includes(path) || missing.has(path)) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200);
    createReadStream(join(root, path)).on('error', () => response.destroy()).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the mirror has no address');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    paths,
    missing,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
