import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';

/** One file of a Docker build context: where it comes from on disk and where it goes in the context. */
export interface ContextFile {
  source: string;
  target: string;
  mode: number;
  size: number;
  /** Known sha256 of the content (cached artifacts have one), so it need not be read again. */
  sha256?: string;
  /** A symbolic link to this path (relative to the link's folder) rather than a file; `source` is unused. */
  linkTarget?: string;
}

/** Lists a folder recursively as context files under a prefix. */
export async function folderFiles(folder: string, prefix: string): Promise<ContextFile[]> {
  const files: ContextFile[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const source = join(entry.parentPath, entry.name);
    const info = await stat(source);
    files.push({ source, target: join(prefix, relative(folder, source)), mode: info.mode & 0o777, size: info.size });
  }
  return files.sort((a, b) => a.target.localeCompare(b.target));
}

export async function fileEntry(source: string, target: string): Promise<ContextFile> {
  const info = await stat(source);
  return { source, target, mode: info.mode & 0o777, size: info.size };
}

/**
 * A file as it is: a symbolic link in the same folder (a multi-call binary's
 * command names) stays a link, and the file it points at comes along, once:
 * returns the link and its target, or just the file.
 */
export async function linkOrFileEntries(source: string, target: string): Promise<ContextFile[]> {
  if (!(await lstat(source)).isSymbolicLink()) return [await fileEntry(source, target)];
  const linkTarget = await readlink(source);
  if (linkTarget.includes('/')) throw new Error(`${source} links outside its folder (${linkTarget}): only links to a sibling file are kept as links`);
  const link: ContextFile = { source, target, mode: 0o777, size: 0, linkTarget };
  return [link, await fileEntry(join(dirname(source), linkTarget), join(dirname(target), linkTarget))];
}

/** The same files without repeats (two links to one file bring it along twice), in order. */
export function uniqueTargets(files: ContextFile[]): ContextFile[] {
  const seen = new Set<string>();
  return files.filter((file) => !seen.has(file.target) && seen.add(file.target));
}

/** Streams the files as a tar build context, one at a time (binaries are large). */
export function contextStream(files: ContextFile[]): Readable {
  const pack = tar.pack();
  const addAll = async () => {
    for (const file of files) {
      if (file.linkTarget !== undefined) {
        pack.entry({ name: file.target, type: 'symlink', linkname: file.linkTarget, mode: 0o777, mtime: new Date(0) });
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ name: file.target, size: file.size, mode: file.mode, mtime: new Date(0) }, (error) =>
          error ? reject(error) : resolve(),
        );
        createReadStream(file.source).on('error', reject).pipe(entry);
      });
    }
    pack.finalize();
  };
  addAll().catch((error: Error) => pack.destroy(error));
  return Readable.from(pack);
}

/** A digest of everything that goes into an image: same inputs, same digest, nothing to rebuild. */
export async function contextDigest(files: ContextFile[], extra: string[] = []): Promise<string> {
  const hash = createHash('sha256');
  for (const value of extra) hash.update(`${value}\n`);
  for (const file of files) {
    if (file.linkTarget !== undefined) {
      hash.update(`${file.target} -> ${file.linkTarget}\n`);
      continue;
    }
    hash.update(`${file.target} ${file.mode.toString(8)} ${file.size}\n`);
    hash.update(file.sha256 ?? (await readFile(file.source)));
  }
  return hash.digest('hex');
}
