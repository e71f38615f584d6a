import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTree, writeTarGz } from '../../src/util/tar-gz.js';

async function readTarGz(file: string): Promise<Map<string, { type: string; content: string }>> {
  const entries = new Map<string, { type: string; content: string }>();
  const extract = tar.extract();
  Readable.from(await readFile(file)).pipe(createGunzip()).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.set(entry.header.name, { type: entry.header.type ?? 'file', content: Buffer.concat(chunks).toString('utf8') });
  }
  return entries;
}

describe('writeTarGz', () => {
  let root: string;
  let dir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'kc-tar-'));
    dir = join(root, 'kc-logs-demo-20250102T030405Z');
    await mkdir(join(dir, 'demo-worker-0'), { recursive: true });
    await mkdir(join(dir, 'empty'), { recursive: true });
    await writeFile(join(dir, 'docker-version.json'), '{"Version":"27"}\n');
    await writeFile(join(dir, 'demo-worker-0', 'kubelet.log'), 'line\n'.repeat(100_000));
    await writeFile(join(dir, 'demo-worker-0', 'empty.txt'), '');
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('lists folders before their files, sorted', async () => {
    expect(await listTree(dir)).toEqual([
      { path: 'demo-worker-0', directory: true },
      { path: 'demo-worker-0/empty.txt', directory: false },
      { path: 'demo-worker-0/kubelet.log', directory: false },
      { path: 'docker-version.json', directory: false },
      { path: 'empty', directory: true },
    ]);
  });

  it('packs the folder under its own name, with every file intact', async () => {
    const tarball = `${dir}.tar.gz`;
    await writeTarGz(`${dir}/`, tarball);
    const entries = await readTarGz(tarball);
    const top = 'kc-logs-demo-20250102T030405Z';
    expect([...entries.keys()]).toEqual([
      `${top}/`,
      `${top}/demo-worker-0/`,
      `${top}/demo-worker-0/empty.txt`,
      `${top}/demo-worker-0/kubelet.log`,
      `${top}/docker-version.json`,
      `${top}/empty/`,
    ]);
    expect(entries.get(`${top}/demo-worker-0/`)?.type).toBe('directory');
    expect(entries.get(`${top}/demo-worker-0/kubelet.log`)?.content).toBe('line\n'.repeat(100_000));
    expect(entries.get(`${top}/demo-worker-0/empty.txt`)?.content).toBe('');
    expect(entries.get(`${top}/docker-version.json`)?.content).toBe('{"Version":"27"}\n');
  });

  it('fails, leaving no partial archive, when the folder does not exist', async () => {
    await expect(writeTarGz(join(root, 'missing'), join(root, 'missing.tar.gz'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(root, 'missing.tar.gz'))).rejects.toThrow(/ENOENT/);
  });

  it('fails rather than hangs when the archive cannot be written', async () => {
    await mkdir(join(root, 'in-the-way.tar.gz'));
    await expect(writeTarGz(dir, join(root, 'in-the-way.tar.gz'))).rejects.toThrow(/EISDIR/);
    await expect(writeTarGz(dir, join(root, 'no-such-folder', 'x.tar.gz'))).rejects.toThrow(/ENOENT/);
  });
});
