import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { packInMemory } from '../../util/tar-gz.js';
import { isArchiveLink, type ArchiveEntry } from '../provider.js';

/**
 * Packs files and symbolic links into a tar archive for Docker's archive API. Paths are
 * absolute on the node; parent folders are created by Docker as needed.
 * Fixed timestamps keep the archive for the same files the same.
 */
export function packFiles(files: readonly ArchiveEntry[]): Promise<Buffer> {
  return packInMemory((pack) => {
    const folders = new Set<string>();
    for (const file of files) {
      for (const folder of parentFolders(file.path)) {
        if (folders.has(folder)) continue;
        folders.add(folder);
        pack.entry({ name: folder, type: 'directory', mode: 0o755, mtime: new Date(0) });
      }
      const name = file.path.replace(/^\//, '');
      if (isArchiveLink(file)) {
        pack.entry({ name, type: 'symlink', linkname: file.target, mode: 0o777, mtime: new Date(0) });
        continue;
      }
      const content = typeof file.content === 'string' ? Buffer.from(file.content) : file.content;
      pack.entry({ name, mode: file.mode ?? 0o644, mtime: new Date(0) }, content);
    }
  });
}

function parentFolders(path: string): string[] {
  const parts = path.replace(/^\//, '').split('/').slice(0, -1);
  return parts.map((_, i) => `${parts.slice(0, i + 1).join('/')}/`);
}

/**
 * The first regular file of a tar stream (Docker's archive API answers a
 * file's path with an archive holding that file); `what` names it in errors.
 */
export async function firstFileOf(archive: Readable, what: string): Promise<Buffer> {
  const extract = tar.extract();
  archive.pipe(extract);
  for await (const entry of extract) {
    if (entry.header.type !== 'file') {
      entry.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    // The rest of the archive is not needed: stop reading it.
    archive.unpipe(extract);
    archive.destroy();
    return Buffer.concat(chunks);
  }
  throw new Error(`${what} is not a regular file`);
}
