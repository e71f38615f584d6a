import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enginesForCluster } from '../../src/cli/engines.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { MultiEngine } from '../../src/provider/multi/router.js';
import { clusterEnginesFile, EnginesFileError, loadClusterEngines, saveClusterEngines } from '../../src/state/cluster-engines.js';
import { clusterStateFile } from '../../src/state/cluster-state.js';
import { useTemporaryStateDir } from './helpers.js';

/**
 * Where a cluster's nodes run, as later commands find it: from its state, or
 * from the engines record a cluster across engines writes first. A record kc
 * cannot use stops the command; it never falls back to the local engine,
 * which would leave the nodes on other engines behind.
 */
useTemporaryStateDir('kc-engines-');

const far = { name: 'e2', host: 'tcp://10.9.0.2:2375' };
const none = { extraPortMappings: [], extraMounts: [] };

async function writeRaw(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

describe('the engines record of a cluster across engines', () => {
  it('is written with its schema version and read back', async () => {
    await saveClusterEngines('span', { engines: [far], nodeExtras: { masters: [], workers: [{ ...none, engine: 'e2' }] } });
    expect(JSON.parse(await readFile(clusterEnginesFile('span'), 'utf8'))).toMatchObject({ schemaVersion: 1, engines: [far] });
    expect(await loadClusterEngines('span')).toEqual({ engines: [far], nodeExtras: { masters: [], workers: [{ ...none, engine: 'e2' }] } });
  });

  it('reads an earlier kc\'s record, which had no version', async () => {
    await writeRaw(clusterEnginesFile('old'), JSON.stringify({ engines: [far], nodeExtras: { masters: [], workers: [{ engine: 'e2' }] } }));
    expect((await loadClusterEngines('old'))?.nodeExtras.workers[0]?.engine).toBe('e2');
  });

  it('refuses a record that is not JSON, is from a newer kc, or names an engine it does not list, naming the file', async () => {
    const cases: [string, string, RegExp][] = [
      ['torn', '{"engines": [', /is not JSON/],
      ['newer', JSON.stringify({ schemaVersion: 9, engines: [] }), /written by a newer kc \(schema 9; this kc reads 1\)/],
      ['stranger', JSON.stringify({ engines: [far], nodeExtras: { masters: [], workers: [{ engine: 'e3' }] } }), /nodeExtras\.workers\[0\]\.engine "e3", which is not one of its engines/],
      ['hostless', JSON.stringify({ engines: [{ name: 'e2' }] }), /engines\[0\] without a name and a host/],
    ];
    for (const [name, text, problem] of cases) {
      await writeRaw(clusterEnginesFile(name), text);
      const failure = await loadClusterEngines(name).catch((error: unknown) => error);
      expect(failure, name).toBeInstanceOf(EnginesFileError);
      expect((failure as Error).message, name).toMatch(problem);
      expect((failure as Error).message, name).toContain(clusterEnginesFile(name));
    }
  });
});

describe('the engines a command on an existing cluster uses', () => {
  it('stops at an engines record it cannot read instead of guessing the local engine', async () => {
    await writeRaw(clusterEnginesFile('torn'), '{"engines": [');
    await expect(enginesForCluster('torn')).rejects.toThrow(EnginesFileError);
  });

  it('takes the engines record when the state cannot be read, so delete still reaches every engine', async () => {
    await saveClusterEngines('broken', { engines: [far], nodeExtras: { masters: [], workers: [{ ...none, engine: 'e2' }] } });
    await writeRaw(clusterStateFile('broken'), 'not json');
    const { engine, span } = await enginesForCluster('broken');
    expect(engine).toBeInstanceOf(MultiEngine);
    expect(span).toBeDefined();
  });

  it('is the local engine, with nothing to join, for a cluster kc has no record of', async () => {
    const { engine, span } = await enginesForCluster('unknown');
    expect(engine).toBeInstanceOf(DockerEngine);
    expect(span).toBeUndefined();
  });
});
