import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * What scripts/setup-host.sh installs, decided by its wanted_packages
 * function, asked of hosts made up of stub commands: the script is sourced
 * (which only defines its functions), then run with PATH holding just the
 * stubs and the AppArmor switch read from a file of the test's.
 */
const SCRIPT = fileURLToPath(new URL('../../scripts/setup-host.sh', import.meta.url));
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kc-setup-host-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The packages setup-host.sh would install on a host with these commands (and dpkg packages), AppArmor on or off. */
async function wanted(profile: 'full' | 'runtime', host: { commands: string[]; packages?: string[]; apparmor: 'Y' | 'N' | 'absent' }): Promise<string[]> {
  return (await wantedWithErrors(profile, host)).packages;
}

/** The same, with what the script printed on stderr meanwhile. */
async function wantedWithErrors(profile: 'full' | 'runtime', host: { commands: string[]; packages?: string[]; apparmor: 'Y' | 'N' | 'absent' }): Promise<{ packages: string[]; stderr: string }> {
  const bin = join(dir, 'bin');
  await import('node:fs/promises').then((fs) => fs.mkdir(bin, { recursive: true }));
  for (const command of host.commands) {
    await writeFile(join(bin, command), '#!/bin/sh\nexit 0\n');
    await chmod(join(bin, command), 0o755);
  }
  // dpkg -s PACKAGE answers for the packages the host has.
  await writeFile(join(bin, 'dpkg'), `#!/bin/sh\ncase " ${(host.packages ?? []).join(' ')} " in *" $2 "*) exit 0 ;; esac\nexit 1\n`);
  await chmod(join(bin, 'dpkg'), 0o755);
  const enabled = join(dir, 'apparmor-enabled');
  if (host.apparmor !== 'absent') await writeFile(enabled, `${host.apparmor}\n`);
  const { stdout, stderr } = await promisify(execFile)('/bin/bash', ['--norc', '-c', `source "${SCRIPT}"; PATH="${bin}"; wanted_packages ${profile}`], {
    env: { PATH: process.env.PATH, KC_APPARMOR_ENABLED_FILE: enabled },
  });
  return { packages: stdout.split('\n').filter(Boolean), stderr };
}

describe('what the set-up installs', () => {
  it('installs apparmor with docker.io where the kernel has AppArmor enabled (a stock Debian or Ubuntu kernel)', async () => {
    expect(await wanted('runtime', { commands: [], apparmor: 'Y' })).toEqual(['docker.io', 'apparmor', 'jq']);
  });

  it('installs apparmor beside a Docker that is already there when its parser is missing', async () => {
    expect(await wanted('runtime', { commands: ['dockerd', 'jq'], apparmor: 'Y' })).toEqual(['apparmor']);
  });

  it('leaves AppArmor alone on a kernel without it (this machine\'s) or with it switched off', async () => {
    // Quietly: bash's own "No such file or directory" once reached the user's terminal here.
    expect(await wantedWithErrors('runtime', { commands: [], apparmor: 'absent' })).toEqual({ packages: ['docker.io', 'jq'], stderr: '' });
    expect(await wanted('runtime', { commands: [], apparmor: 'N' })).toEqual(['docker.io', 'jq']);
  });

  it('installs nothing on a GitHub runner (Docker, AppArmor\'s tools and jq present): no apt-get at all', async () => {
    expect(await wanted('runtime', { commands: ['dockerd', 'apparmor_parser', 'jq'], apparmor: 'Y' })).toEqual([]);
  });

  it('adds what offline source builds and the tests need in the full profile, the default', async () => {
    expect(await wanted('full', { commands: ['dockerd', 'jq'], apparmor: 'N', packages: ['pkg-config'] })).toEqual([
      'debootstrap', 'shellcheck', 'gcc', 'libc6-dev', 'libseccomp-dev',
    ]);
    expect(await wanted('full', { commands: ['dockerd', 'jq', 'debootstrap', 'shellcheck', 'gcc'], apparmor: 'N', packages: ['libseccomp-dev', 'pkg-config'] })).toEqual([]);
  });
});
