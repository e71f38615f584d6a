import type { Addon } from '../config/types.js';
import { ADDON_FLAG_NAMES } from '../config/types.js';
import { coreDnsManifest } from './coredns.js';
import { runsKubeRouter } from './index.js';
import { kubeRouterRbac } from './kube-router.js';
import { LOCAL_PATH_NAMESPACE, localPathStorageManifest } from './local-path-storage.js';
import { METALLB_CONTROLLER, METALLB_CRDS, METALLB_NAMESPACE, metallbManifest, metallbPoolManifest } from './metallb.js';
import { metricsServerManifest } from './metrics-server.js';
import { apiServerToKubeletRbac } from './rbac.js';
import { GATEWAY_API_CRDS, gatewayApiCrds, TRAEFIK_NAMESPACE, traefikGatewayManifest, traefikManifest } from './traefik.js';
import type { ClusterPlan } from '../model/plan.js';

/** The add-ons that run in the cluster (the registry runs beside it, see cluster/registry). */
export type InClusterAddon = Exclude<Addon, 'registry'>;

/** The Deployment that serves an add-on: it is ready when that Deployment is available. */
export interface AddonWorkload {
  addon: InClusterAddon;
  /** As users call it: the name `--disable` takes. */
  name: string;
  namespace: string;
  deployment: string;
}

const WORKLOADS: Record<InClusterAddon, Omit<AddonWorkload, 'addon' | 'name'>> = {
  storage: { namespace: LOCAL_PATH_NAMESPACE, deployment: 'local-path-provisioner' },
  metricsServer: { namespace: 'kube-system', deployment: 'metrics-server' },
  loadBalancer: { namespace: METALLB_NAMESPACE, deployment: METALLB_CONTROLLER },
  ingress: { namespace: TRAEFIK_NAMESPACE, deployment: 'traefik' },
};

const MANIFESTS: Record<InClusterAddon, (plan: ClusterPlan) => string> = {
  storage: localPathStorageManifest,
  metricsServer: metricsServerManifest,
  loadBalancer: metallbManifest,
  ingress: traefikManifest,
};

/** Custom resources an add-on needs, applied once the CRDs they are instances of are established. */
export interface CustomResources {
  /**
   * CRDs applied beside addonManifests() rather than in it, by a kubectl of
   * their own (see cluster/kube/addons.ts applyAddons): the Gateway API's
   * 1.2 MB take the API servers seconds, which need not hold up the stream.
   */
  definitions?: string;
  crds: string[];
  manifest: string;
}

const CUSTOM_RESOURCES: Partial<Record<InClusterAddon, (plan: ClusterPlan) => CustomResources>> = {
  loadBalancer: (plan) => ({ crds: METALLB_CRDS, manifest: metallbPoolManifest(plan) }),
  ingress: () => ({ definitions: gatewayApiCrds().documents, crds: GATEWAY_API_CRDS, manifest: traefikGatewayManifest() }),
};

/** What goes in after addonManifests(): the add-ons' own configuration, as custom resources. */
export function addonCustomResources(plan: ClusterPlan): CustomResources[] {
  return enabledAddons(plan).flatMap(({ addon }) => CUSTOM_RESOURCES[addon]?.(plan) ?? []);
}

/** The add-ons a cluster runs in it, in the order they are applied. */
export function enabledAddons(plan: ClusterPlan): AddonWorkload[] {
  return (Object.keys(WORKLOADS) as InClusterAddon[])
    .filter((addon) => plan.spec.addons[addon])
    .map((addon) => ({ addon, name: ADDON_FLAG_NAMES[addon], ...WORKLOADS[addon] }));
}

/**
 * The namespaces of the pods kc installs that talk to the API server
 * (CoreDNS, metrics-server, the add-ons' controllers, Weave Net): what a
 * change of the trusted CAs restarts, since most clients read the CA once.
 */
export function addonNamespaces(plan: ClusterPlan): string[] {
  return [...new Set(['kube-system', ...enabledAddons(plan).map((workload) => workload.namespace)])];
}

/**
 * The add-ons as one multi-document stream, RBAC first (kubectl applies it in
 * order), then CoreDNS and the add-ons the cluster runs: what create applies,
 * and what an upgrade applies again (the images are the release's).
 */
export function addonManifests(plan: ClusterPlan): string {
  const rbac = [apiServerToKubeletRbac(), ...(runsKubeRouter(plan) ? [kubeRouterRbac()] : [])];
  const addons = enabledAddons(plan).map(({ addon }) => MANIFESTS[addon](plan));
  return [...rbac, coreDnsManifest(plan), ...addons].map(endWithNewline).join('---\n');
}

function endWithNewline(document: string): string {
  return document.endsWith('\n') ? document : `${document}\n`;
}
