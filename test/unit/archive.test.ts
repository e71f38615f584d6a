import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { packFiles } from '../../src/provider/docker/archive.js';

interface Entry {
  name: string;
  type: string | null | undefined;
  mode: number | undefined;
  linkname: string | null | undefined;
  body: string;
}

async function unpack(archive: Buffer): Promise<Entry[]> {
  const extract = tar.extract();
  const entries: Entry[] = [];
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    stream.on('end', () => {
      entries.push({ name: header.name, type: header.type, mode: header.mode, linkname: header.linkname, body: Buffer.concat(chunks).toString('utf8') });
      next();
    });
    stream.resume();
  });
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(archive);
  await done;
  return entries;
}

describe('the archive kc hands to the engine', () => {
  it('holds files with their modes, their parent folders once, and links as symbolic links', async () => {
    const entries = await unpack(
      await packFiles([
        { path: '/etc/systemd/system/etcd.service', content: '[Unit]\n' },
        { path: '/etc/kubernetes/pki/ca.key', content: 'key', mode: 0o600 },
        { path: '/etc/systemd/system/multi-user.target.wants/etcd.service', target: '/etc/systemd/system/etcd.service' },
      ]),
    );
    expect(entries.map((e) => e.name)).toEqual([
      'etc/', 'etc/systemd/', 'etc/systemd/system/', 'etc/systemd/system/etcd.service',
      'etc/kubernetes/', 'etc/kubernetes/pki/', 'etc/kubernetes/pki/ca.key',
      'etc/systemd/system/multi-user.target.wants/', 'etc/systemd/system/multi-user.target.wants/etcd.service',
    ]);
    const named = (name: string) => entries.find((e) => e.name === name);
    expect(named('etc/systemd/system/etcd.service')).toMatchObject({ type: 'file', mode: 0o644, body: '[Unit]\n' });
    expect(named('etc/kubernetes/pki/ca.key')).toMatchObject({ type: 'file', mode: 0o600 });
    expect(named('etc/systemd/system/multi-user.target.wants/etcd.service')).toMatchObject({ type: 'symlink', linkname: '/etc/systemd/system/etcd.service' });
  });
});
