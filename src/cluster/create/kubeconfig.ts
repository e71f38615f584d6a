import { trustedCaPem } from '../../pki/ca-rotation.js';
import { contextName, mergeIntoKubeconfigFile } from '../../state/kubeconfig-file.js';
import { hostApiServerUrl } from '../kube/api.js';
import type { Secured, Step } from './context.js';

export const writeKubeconfig: Step<Secured, void> = {
  title: 'Writing kubeconfig',
  async run(ctx, note) {
    const { plan, pki } = ctx;
    const context = contextName(plan.spec.name);
    await mergeIntoKubeconfigFile(ctx.kubeconfigPath, {
      contextName: context,
      clusterName: context,
      userName: context,
      server: hostApiServerUrl(plan.spec.apiServerAddress, ctx.apiServerHostPort),
      caPem: trustedCaPem(pki),
      certPem: pki.admin.certPem,
      keyPem: pki.admin.keyPem,
    });
    note(`context ${context} in ${ctx.kubeconfigPath}`);
  },
};
