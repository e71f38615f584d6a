import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

/** Every regular file and folder under `dir`, as paths relative to it (POSIX separators), folders first, sorted. */
export async function listTree(dir: string): Promise<{ path: string; directory: boolean }[]> {
  const result: { path: string; directory: boolean }[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(dir, relative), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        result.push({ path, directory: true });
        await walk(path);
      } else if (entry.isFile()) {
        result.push({ path, directory: false });
      }
      // Symlinks, sockets and the like are left out: an archive of logs has no use for them.
    }
  };
  await walk('');
  return result;
}

/**
 * Writes `dir` as a gzip-compressed tar archive to `tarPath`, with every entry
 * under one top folder named like `dir` (so it unpacks to the same layout).
 * Pure Node: tar-stream and zlib, no `tar` program needed. File contents are
 * streamed, so large journals are never held in memory whole.
 */
export async function writeTarGz(dir: string, tarPath: string): Promise<void> {
  const top = basename(dir.replace(/\/+$/, ''));
  const pack = tar.pack();
  const written = pipeline(pack, createGzip(), createWriteStream(tarPath, { mode: 0o644 }));
  // Rejects as soon as writing fails (no such folder, disk full), so no entry waits forever.
  const writeFailed = written.then(() => new Promise<never>(() => undefined));
  writeFailed.catch(() => undefined);
  try {
    const rootInfo = await stat(dir);
    pack.entry({ name: `${top}/`, type: 'directory', mode: 0o755, mtime: rootInfo.mtime });
    for (const item of await listTree(dir)) {
      const full = join(dir, item.path);
      const info = await stat(full);
      const name = `${top}/${item.path}`;
      if (item.directory) {
        pack.entry({ name: `${name}/`, type: 'directory', mode: info.mode & 0o7777, mtime: info.mtime });
        continue;
      }
      const entryWritten = new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ name, size: info.size, mode: info.mode & 0o7777, mtime: info.mtime }, (error) =>
          error ? reject(error) : resolve(),
        );
        const source = createReadStream(full);
        source.on('error', (error) => {
          entry.destroy(error);
          reject(error);
        });
        source.pipe(entry);
      });
      entryWritten.catch(() => undefined);
      await Promise.race([entryWritten, writeFailed]);
    }
    pack.finalize();
    await written;
  } catch (error) {
    pack.destroy(error as Error);
    // When writing failed, that is the cause (the packer then only says it was destroyed).
    const writeError: unknown = await written.then(
      () => undefined,
      (e: unknown) => e,
    );
    // A partial archive is worse than none. (A folder in the way is left alone: rm without recursive refuses it.)
    await rm(tarPath, { force: true }).catch(() => undefined);
    throw writeError ?? error;
  }
}

/** A tar archive made in memory: `add` puts its entries into the packer, whose output is collected. */
export async function packInMemory(add: (pack: tar.Pack) => void): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => {
    chunks.push(chunk as Buffer);
  });
  const finished = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  add(pack);
  pack.finalize();
  await finished;
  return Buffer.concat(chunks);
}

/**
 * Writes the regular files of a tar stream under `dir` (folders made as
 * needed), each streamed to disk; links and devices are left out, and so is
 * any name that would land outside `dir` (absolute, or with `..`). Returns
 * how many files were written.
 */
export async function extractTar(archive: NodeJS.ReadableStream, dir: string): Promise<number> {
  const extract = tar.extract();
  let written = 0;
  const done = pipeline(archive, extract);
  // Awaited below; an early failure also ends the loop, so it must not count as unhandled meanwhile.
  done.catch(() => undefined);
  for await (const entry of extract) {
    const name = entry.header.name.replace(/^\.\//, '');
    const inside = !isAbsolute(name) && !name.split('/').includes('..');
    if (entry.header.type !== 'file' || !inside) {
      entry.resume();
      continue;
    }
    const target = join(dir, name);
    await mkdir(dirname(target), { recursive: true });
    await pipeline(entry, createWriteStream(target, { mode: 0o644 }));
    written += 1;
  }
  await done;
  return written;
}
