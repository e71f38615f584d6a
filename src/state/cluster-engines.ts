import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { ClusterSpec } from '../config/types.js';
import { clusterStateDir } from './cluster-state.js';

/**
 * A cluster across engines records its engines before it creates anything on
 * them (the full state comes later, with the certificates): a create that
 * fails or is kept with --retain is still deleted on every engine.
 */
function enginesFile(name: string): string {
  return join(clusterStateDir(name), 'engines.json');
}

/** Only what reaches the engines: names, addresses and every node's engine, no secrets. */
export interface ClusterEngines {
  engines: ClusterSpec['engines'];
  nodeExtras: ClusterSpec['nodeExtras'];
}

export async function saveClusterEngines(name: string, engines: ClusterEngines): Promise<void> {
  await mkdir(clusterStateDir(name), { recursive: true, mode: 0o700 });
  await writeFileAtomic(enginesFile(name), `${JSON.stringify(engines, null, 2)}\n`, { mode: 0o600 });
}

/** undefined when the cluster has no record (a single-engine cluster, or none). */
export async function loadClusterEngines(name: string): Promise<ClusterEngines | undefined> {
  const text = await readFile(enginesFile(name), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = JSON.parse(text) as Partial<ClusterEngines>;
  return { engines: parsed.engines ?? [], nodeExtras: parsed.nodeExtras ?? { masters: [], workers: [] } };
}
