import { copyFile, chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactCache } from '../../artifacts/cache.js';
import { artifactByName, requireRelease } from '../../artifacts/manifest.js';
import { nodesOf } from '../../model/plan.js';
import { execOrThrow, type NodeExec } from '../../provider/provider.js';
import type { ClusterState } from '../../state/cluster-state.js';
import { cacheDir } from '../../util/paths.js';

export interface ExportedKubectl {
  path: string;
  version: string;
  /** Where it came from: kc's artifact cache, or the name of the master it was read from. */
  from: { cache: true } | { node: string };
}

/**
 * Writes the kubectl of the cluster's own Kubernetes version to `dir`: from
 * kc's artifact cache when it holds that version (a node image kc built),
 * else read out of a master (a node image that was pulled, so nothing was
 * cached): the runner's own kubectl may be of another version.
 */
export async function exportKubectl(engine: NodeExec, state: ClusterState, dir: string): Promise<ExportedKubectl> {
  const version = state.plan.spec.kubernetesVersion;
  const path = join(dir, 'kubectl');
  await mkdir(dir, { recursive: true });
  const cache = new ArtifactCache(cacheDir());
  const artifact = artifactByName('kubernetes', requireRelease(version));
  const entry = (await cache.lookup(artifact, 'release')) ?? (await cache.lookup(artifact, 'source'));
  if (entry) {
    // A link to a multi-call binary is copied as the file it names: the copy is named kubectl, which is what it runs as.
    await copyFile(join(entry.binDir, 'kubectl'), path);
    await chmod(path, 0o755);
    return { path, version, from: { cache: true } };
  }
  const master = nodesOf(state.plan, 'master')[0];
  if (!master) throw new Error(`cluster "${state.plan.spec.name}" has no master to read kubectl from`);
  const inNode = (await execOrThrow(engine, master, ['readlink', '-f', '/usr/local/bin/kubectl'])).trim();
  await writeFile(path, await engine.readFile(master, inNode), { mode: 0o755 });
  return { path, version, from: { node: master.name } };
}
