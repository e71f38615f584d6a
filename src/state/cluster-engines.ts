import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { ClusterSpec, EngineSpec, NodeExtras } from '../config/types.js';
import { clusterStateDir } from './cluster-state.js';

/**
 * A cluster across engines records its engines before it creates anything on
 * them (the full state comes later, with the certificates): a create that
 * fails or is kept with --retain is still deleted on every engine. Only a
 * cluster across engines has this file: without it (and without a readable
 * state), the cluster is on the engine kc runs on.
 */
export function clusterEnginesFile(name: string): string {
  return join(clusterStateDir(name), 'engines.json');
}

/** Written by this kc; a file without a version is a version 1 file of an earlier kc, the same shape. */
export const ENGINES_SCHEMA_VERSION = 1;

/** Only what reaches the engines: names, addresses and every node's engine, no secrets. */
export interface ClusterEngines {
  engines: ClusterSpec['engines'];
  nodeExtras: ClusterSpec['nodeExtras'];
}

/** An engines record kc cannot use: which file, what is wrong, and what to do (never a silent fall back to the local engine). */
export class EnginesFileError extends Error {
  constructor(
    readonly file: string,
    cluster: string,
    problem: string,
  ) {
    super(
      `kc's record of the engines of cluster "${cluster}" in ${file} ${problem}: kc cannot tell where its nodes run, so it changes nothing. ` +
        'Put back a good copy of the file, or remove the nodes on the other engines yourself (docker ps --filter label=dev.kc.cluster) and then the file.',
    );
    this.name = 'EnginesFileError';
  }
}

export async function saveClusterEngines(name: string, engines: ClusterEngines): Promise<void> {
  await mkdir(clusterStateDir(name), { recursive: true, mode: 0o700 });
  const record = { schemaVersion: ENGINES_SCHEMA_VERSION, ...engines };
  await writeFileAtomic(clusterEnginesFile(name), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

/** undefined when the cluster has no record (a single-engine cluster, or none); an EnginesFileError when it has one kc cannot use. */
export async function loadClusterEngines(name: string): Promise<ClusterEngines | undefined> {
  const file = clusterEnginesFile(name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EnginesFileError(file, name, `cannot be read (${(error as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new EnginesFileError(file, name, `is not JSON (${(error as Error).message})`);
  }
  return parseClusterEngines(raw, (problem) => new EnginesFileError(file, name, problem));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Pure: the parsed file as ClusterEngines, or the error `fail` makes of the first problem found. */
export function parseClusterEngines(raw: unknown, fail: (problem: string) => Error): ClusterEngines {
  if (!isRecord(raw)) throw fail('is not a JSON object');
  const version = raw['schemaVersion'] ?? 1;
  if (version !== ENGINES_SCHEMA_VERSION) {
    throw fail(typeof version === 'number' && version > ENGINES_SCHEMA_VERSION ? `was written by a newer kc (schema ${version}; this kc reads ${ENGINES_SCHEMA_VERSION}): use that kc` : `has an invalid schemaVersion ${JSON.stringify(version)}`);
  }
  const engines = raw['engines'];
  if (!Array.isArray(engines)) throw fail('has no list of engines');
  const parsedEngines = engines.map((engine, index): EngineSpec => {
    if (!isRecord(engine) || typeof engine['name'] !== 'string' || typeof engine['host'] !== 'string') throw fail(`has an engines[${index}] without a name and a host`);
    const advertise = engine['advertiseAddress'];
    if (advertise !== undefined && typeof advertise !== 'string') throw fail(`has an engines[${index}].advertiseAddress that is not text`);
    return { name: engine['name'], host: engine['host'], ...(advertise === undefined ? {} : { advertiseAddress: advertise }) };
  });
  const extras = raw['nodeExtras'] ?? { masters: [], workers: [] };
  if (!isRecord(extras)) throw fail('has a nodeExtras that is not an object');
  const known = new Set(parsedEngines.map((e) => e.name));
  const role = (key: 'masters' | 'workers'): NodeExtras[] => {
    const list = extras[key] ?? [];
    if (!Array.isArray(list)) throw fail(`has a nodeExtras.${key} that is not a list`);
    return list.map((node, index): NodeExtras => {
      if (!isRecord(node)) throw fail(`has a nodeExtras.${key}[${index}] that is not an object`);
      const engine = node['engine'];
      if (engine !== undefined && (typeof engine !== 'string' || (engine !== 'local' && !known.has(engine)))) {
        throw fail(`has nodeExtras.${key}[${index}].engine ${JSON.stringify(engine)}, which is not one of its engines`);
      }
      return {
        extraPortMappings: Array.isArray(node['extraPortMappings']) ? (node['extraPortMappings'] as NodeExtras['extraPortMappings']) : [],
        extraMounts: Array.isArray(node['extraMounts']) ? (node['extraMounts'] as NodeExtras['extraMounts']) : [],
        ...(engine === undefined ? {} : { engine }),
      };
    });
  };
  return { engines: parsedEngines, nodeExtras: { masters: role('masters'), workers: role('workers') } };
}
