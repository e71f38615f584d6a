import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * scripts/docker-daemon-json.sh, which scripts/setup-host.sh uses to register
 * the capability-filtering runtime, run on a temporary daemon.json (never the
 * host's: changing that needs a dockerd restart).
 */
const SCRIPT = fileURLToPath(new URL('../../scripts/docker-daemon-json.sh', import.meta.url));
const WRAPPER = '/usr/local/libexec/kc/runc-capfilter';
/** What setup-host.sh of kc 0.1 wrote: kc-runc as every container's runtime. */
const OLD_STYLE = { runtimes: { 'kc-runc': { path: WRAPPER } }, 'default-runtime': 'kc-runc', 'log-level': 'warn' };

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kc-daemon-json-'));
  file = join(dir, 'docker', 'daemon.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(SCRIPT, args, { env: { ...process.env, KC_DOCKER_DAEMON_JSON: file } });
  return stdout.trim();
}

const written = async (): Promise<unknown> => JSON.parse(await readFile(file, 'utf8'));

describe("dockerd's configuration for kc's runtime", () => {
  it('registers kc-runc by name, never as the default, on a host without a daemon.json', async () => {
    expect(await script('register', WRAPPER)).toBe('changed');
    expect(await written()).toEqual({ runtimes: { 'kc-runc': { path: WRAPPER } } });
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    expect(await script('register', WRAPPER)).toBe('unchanged');
  });

  it('migrates a host set up the old way: the default runtime goes, the registration and other settings stay', async () => {
    expect(await script('unset-default')).toBe('unchanged');
    await mkdir(join(dir, 'docker'));
    await writeFile(file, JSON.stringify(OLD_STYLE));
    expect(await script('register', WRAPPER)).toBe('changed');
    expect(await written()).toEqual({ runtimes: { 'kc-runc': { path: WRAPPER } }, 'log-level': 'warn' });
    expect(await script('register', WRAPPER)).toBe('unchanged');
  });

  it('only undoes the old default on a host that needs no runtime of kc, and leaves another default alone', async () => {
    await mkdir(join(dir, 'docker'));
    await writeFile(file, JSON.stringify(OLD_STYLE));
    expect(await script('unset-default')).toBe('changed');
    expect(await written()).toEqual({ runtimes: { 'kc-runc': { path: WRAPPER } }, 'log-level': 'warn' });
    const nvidia = { runtimes: { nvidia: { path: '/usr/bin/nvidia-container-runtime' } }, 'default-runtime': 'nvidia' };
    await writeFile(file, JSON.stringify(nvidia));
    expect(await script('unset-default')).toBe('unchanged');
    expect(await script('register', WRAPPER)).toBe('changed');
    expect(await written()).toEqual({ runtimes: { ...nvidia.runtimes, 'kc-runc': { path: WRAPPER } }, 'default-runtime': 'nvidia' });
  });

  it('refuses a daemon.json that is not a JSON object, and leaves it as it was', async () => {
    await mkdir(join(dir, 'docker'));
    await writeFile(file, '{"runtimes": ');
    await expect(script('register', WRAPPER)).rejects.toThrow(/is not a JSON object: fix it by hand first/);
    expect(await readFile(file, 'utf8')).toBe('{"runtimes": ');
  });
});
