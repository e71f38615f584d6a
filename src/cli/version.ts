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
    const lines = [
      `kc ${kcVersion()}`,
      `kubernetes ${manifest.KUBERNETES_VERSION}`,
      `etcd ${manifest.ETCD_VERSION}`,
      `containerd ${manifest.CONTAINERD_VERSION}`,
      `runc ${manifest.RUNC_VERSION}`,
      `cni-plugins ${manifest.CNI_PLUGINS_VERSION}`,
      `crictl ${manifest.CRICTL_VERSION}`,
      `coredns ${manifest.COREDNS_VERSION}`,
      `kube-router ${manifest.KUBE_ROUTER_VERSION}`,
      `pause ${manifest.PAUSE_VERSION}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
