import { coreDnsManifest } from './coredns.js';
import { runsKubeRouter } from './index.js';
import { kubeRouterRbac } from './kube-router.js';
import { apiServerToKubeletRbac } from './rbac.js';
import type { ClusterPlan } from '../model/plan.js';

/**
 * The add-ons as one multi-document stream, RBAC first (kubectl applies it in
 * order): what create applies, and what an upgrade applies again (CoreDNS's
 * image is the release's).
 */
export function addonManifests(plan: ClusterPlan): string {
  const rbac = [apiServerToKubeletRbac(), ...(runsKubeRouter(plan) ? [kubeRouterRbac()] : [])];
  return [...rbac, coreDnsManifest(plan)].map(endWithNewline).join('---\n');
}

function endWithNewline(document: string): string {
  return document.endsWith('\n') ? document : `${document}\n`;
}
