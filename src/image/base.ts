import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { Images, NodeExec } from '../provider/provider.js';
import { run } from '../util/exec.js';
import type { StepNote } from '../util/progress.js';

export const UPSTREAM_BASE_IMAGE = 'debian:bookworm-slim';
/** The base kc makes itself from Debian packages when no registry answers. */
export const LOCAL_BASE_IMAGE = 'kc/debian-base:bookworm';
const SUITE = 'bookworm';

/** The Debian mirror this host uses (so debootstrap works wherever apt-get does). */
export async function debianMirror(): Promise<string> {
  if (process.env.KC_DEBIAN_MIRROR) return process.env.KC_DEBIAN_MIRROR;
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const deb822 = /^URIs:\s*(\S+)/m.exec(text);
    if (deb822?.[1] && !deb822[1].includes('security')) return deb822[1];
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    if (oneLine?.[1]) return oneLine[1];
  }
  return 'http://deb.debian.org/debian';
}

/**
 * The image kc's node image starts from: `debian:bookworm-slim` when it is
 * present or can be pulled, else a minimal Debian made with debootstrap and
 * imported (built once, then kept by Docker).
 */
export async function ensureBaseImage(engine: Images & NodeExec, note: StepNote): Promise<string> {
  if (await engine.imageLabels(UPSTREAM_BASE_IMAGE)) {
    note(`${UPSTREAM_BASE_IMAGE}, present`);
    return UPSTREAM_BASE_IMAGE;
  }
  if (await engine.imageLabels(LOCAL_BASE_IMAGE)) {
    note(`${LOCAL_BASE_IMAGE}, cached`);
    return LOCAL_BASE_IMAGE;
  }
  if (await engine.tryPull(UPSTREAM_BASE_IMAGE)) {
    note(`${UPSTREAM_BASE_IMAGE}, pulled`);
    return UPSTREAM_BASE_IMAGE;
  }
  note('no registry: debootstrap from Debian packages');
  await debootstrapImage(engine, LOCAL_BASE_IMAGE);
  return LOCAL_BASE_IMAGE;
}

async function debootstrapImage(engine: Images & NodeExec, tag: string): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'kc-rootfs-'));
  try {
    try {
      await run('debootstrap', ['--variant=minbase', SUITE, root, await debianMirror()]);
    } catch (error) {
      if ((error as Error).message.startsWith('cannot run')) {
        throw new Error('no registry answers and debootstrap is not installed: run scripts/setup-host.sh (or apt-get install debootstrap)');
      }
      throw error;
    }
    const tarball = spawn('tar', ['-C', root, '--numeric-owner', '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await engine.importImage(tarball.stdout, tag);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
