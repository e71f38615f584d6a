import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { clusterResources } from './cluster-helpers.js';
import { kc, testClusterName } from './helpers.js';

/**
 * Two `kc create cluster` at the same moment, into the same kubeconfig file,
 * five times in a row: both contexts must land every time (kc locks the file
 * while it merges), and deleting both at once must remove both. Small
 * clusters without a pod network: what is tested is kc's own host state.
 */
const NAMES = [testClusterName('race-a'), testClusterName('race-b')];
const ROUNDS = 5;
let dir: string;
let kubeconfig: string;

const contexts = async (): Promise<string[]> => {
  const text = await readFile(kubeconfig, 'utf8').catch(() => '');
  const config = (parse(text) ?? {}) as { contexts?: { name: string }[] };
  return (config.contexts ?? []).map((c) => c.name).sort();
};

const deleteAll = () => Promise.all(NAMES.map((name) => kc(['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfig])));

describe('two creates into one kubeconfig file at the same moment', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-race-'));
    kubeconfig = join(dir, 'kubeconfig');
    await deleteAll();
  });

  afterAll(async () => {
    await deleteAll();
    await rm(dir, { recursive: true, force: true });
  });

  it(`keeps both contexts, ${ROUNDS} times in a row, and deleting both at once removes both`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const created = await Promise.all(
        NAMES.map((name) =>
          kc(['create', 'cluster', '--name', name, '--cni', 'none', '--control-planes', '1', '--workers', '1', '--kubeconfig', kubeconfig, '-q']),
        ),
      );
      for (const result of created) expect(result.code, `round ${round}: ${result.stderr}`).toBe(0);
      expect(await contexts(), `round ${round}`).toEqual(NAMES.map((n) => `kc-${n}`).sort());
      const deleted = await deleteAll();
      for (const result of deleted) expect(result.code, `round ${round}: ${result.stderr}`).toBe(0);
      expect(await contexts(), `round ${round}`).toEqual([]);
      for (const name of NAMES) expect(await clusterResources(name), `round ${round}: ${name}`).toEqual({ containers: 0, networks: 0, volumes: 0 });
    }
  });
});
