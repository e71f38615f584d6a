import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as manifest from '../artifacts/manifest.js';
import { projectRoot } from '../util/paths.js';

function kcVersion(): string {
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export const versionCommand: CommandModule = {
  command: 'version',
  describe: 'Print kc and component versions',
  handler: () => {
    const release = manifest.DEFAULT_RELEASE;
    const lines = [
      `kc ${kcVersion()}`,
      `kubernetes ${release.kubernetes} (default; node images also for ${manifest.KUBERNETES_RELEASES.slice(1).map((r) => r.kubernetes).join(', ')})`,
      `etcd ${release.etcd}`,
      `containerd ${manifest.CONTAINERD_VERSION}`,
      `runc ${manifest.RUNC_VERSION}`,
      `cni-plugins ${manifest.CNI_PLUGINS_VERSION}`,
      `crictl ${manifest.CRICTL_VERSION}`,
      `coredns ${release.coredns}`,
      `kube-router ${manifest.KUBE_ROUTER_VERSION}`,
      `pause ${release.pause}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
