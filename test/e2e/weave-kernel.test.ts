import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterStateDir } from '../../src/state/cluster-state.js';
import { clusterResources } from './cluster-helpers.js';
import { kc, testClusterName } from './helpers.js';

const execFileAsync = promisify(execFile);
const NAME = testClusterName('np-weave');

/**
 * Whether the kernel (this host's: the Docker engine is local in the tests)
 * has dummy interfaces, read from its build configuration: an oracle
 * independent of the probe kc runs.
 */
async function kernelHasDummy(): Promise<boolean> {
  const release = (await execFileAsync('uname', ['-r'])).stdout.trim();
  let config = '';
  try {
    config = (await execFileAsync('sh', ['-c', 'zcat /proc/config.gz'], { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch {
    config = await readFile(`/boot/config-${release}`, 'utf8');
  }
  const line = /^CONFIG_DUMMY=([ym])$/m.exec(config);
  if (line?.[1] === 'y') return true;
  if (line?.[1] === 'm') return (await stat('/sys/module/dummy').catch(() => undefined)) !== undefined;
  return false;
}

describe('kc create cluster --cni weave on a kernel without dummy interfaces', () => {
  // Where the kernel has dummy interfaces (GitHub's runners) the check passes and Weave may really be created: remove it.
  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME]);
  });

  it('checks the kernel first: fails with exit 1 naming CONFIG_DUMMY and the fix, and creates nothing', async () => {
    const hasDummy = await kernelHasDummy();
    const started = Date.now();
    const result = await kc(['create', 'cluster', '--name', NAME, '--cni', 'weave']);
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(`kc create cluster --cni weave: exit ${result.code} after ${seconds.toFixed(1)}s (kernel has dummy interfaces: ${hasDummy})\n`);
    if (hasDummy) {
      // Such a kernel passes the check; what follows depends on whether the Weave images can be had.
      expect(result.stderr).toMatch(/Checking the kernel for Weave Net \(dummy interfaces supported\)/);
      return;
    }
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/creating the cluster failed at "Checking the kernel for Weave Net"/);
    expect(result.stderr).toContain('cannot create a dummy network interface');
    expect(result.stderr).toContain('CONFIG_DUMMY');
    expect(result.stderr).toContain('--cni bridge');
    expect(result.stderr).not.toMatch(/Creating network|Ensuring Weave Net images/);
    expect(result.stderr).toContain('Nothing was created.');
    expect(await clusterResources(NAME)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    await expect(stat(clusterStateDir(NAME))).rejects.toThrow();
  });
});
