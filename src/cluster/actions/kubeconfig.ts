import { contextName, mergeIntoKubeconfigFile } from '../../state/kubeconfig-file.js';
import { hostApiServerUrl } from '../api.js';
import { requirePki, requirePlan, type Action } from '../context.js';

export const writeKubeconfig: Action = {
  title: 'Writing kubeconfig',
  async run(ctx, note) {
    const plan = requirePlan(ctx);
    const pki = requirePki(ctx);
    const context = contextName(plan.spec.name);
    await mergeIntoKubeconfigFile(ctx.kubeconfigPath, {
      contextName: context,
      clusterName: context,
      userName: context,
      server: hostApiServerUrl(plan.spec.apiServerAddress, ctx.apiServerHostPort ?? 0),
      caPem: pki.ca.certPem,
      certPem: pki.admin.certPem,
      keyPem: pki.admin.keyPem,
    });
    note(`context ${context} in ${ctx.kubeconfigPath}`);
  },
};
