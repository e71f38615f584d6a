import type { ClusterPlan, NodePlan } from '../model/plan.js';
import { adminKubeconfigFile } from './admin-kubeconfig.js';
import type { ClusterPki } from '../pki/types.js';
import { apiServerBundle } from './apiserver.js';
import { podNetworkBundle } from './cni-bridge.js';
import { containerdBundle } from './containerd.js';
import { controllerManagerBundle } from './controller-manager.js';
import { etcdBundle } from './etcd.js';
import { haproxyBundle } from './haproxy.js';
import { KUBE_PROXY_UNIT, kubeProxyBundle } from './kube-proxy.js';
import { KUBE_ROUTER_UNIT, kubeRouterBundle } from './kube-router.js';
import { KUBELET_UNIT, kubeletBundle } from './kubelet.js';
import { schedulerBundle } from './scheduler.js';
import { enabledAtBoot, mergeBundles, type ComponentBundle, type NodeLink } from './types.js';
import { UNIT } from './units.js';

/** HAProxy, and the cluster boundary (the lb never carries pod traffic, but must not leak it either). */
export function lbBundle(plan: ClusterPlan): ComponentBundle {
  return mergeBundles(podNetworkBundle(plan, plan.lb), haproxyBundle(plan));
}

/** True when kube-router's policy controller runs on the workers (the default with kc's bridge network). */
export function runsKubeRouter(plan: ClusterPlan): boolean {
  // Specs saved by kc versions before networkPolicy existed have no such field: those clusters have no kube-router.
  return plan.spec.cni === 'bridge' && plan.spec.networkPolicy === 'kube-router';
}

/**
 * What a master runs besides etcd: the control plane, and a place in the pod
 * network (routes to every worker's pods, kube-proxy for Service addresses),
 * so that API servers reach webhooks, aggregated APIs and pods/proxy.
 */
export function masterBundle(plan: ClusterPlan, master: NodePlan, pki: ClusterPki): ComponentBundle {
  return mergeBundles(
    podNetworkBundle(plan, master),
    apiServerBundle(plan, master, pki),
    controllerManagerBundle(plan, master, pki),
    schedulerBundle(plan, master, pki),
    kubeProxyBundle(plan, master, pki),
  );
}

/** Everything a worker runs, in start order; kube-router (NetworkPolicy) last, when it runs. */
export function workerBundle(plan: ClusterPlan, worker: NodePlan, pki: ClusterPki): ComponentBundle {
  const policy = runsKubeRouter(plan) ? [kubeRouterBundle(plan, worker, pki)] : [];
  return mergeBundles(
    containerdBundle(plan),
    podNetworkBundle(plan, worker),
    kubeletBundle(plan, worker, pki),
    kubeProxyBundle(plan, worker, pki),
    ...policy,
  );
}

/**
 * Worker units that talk to the API server. kc starts them once it answers:
 * started earlier, kubelet backs off between registration attempts (up to 7 s)
 * and the node joins late. kubelet and kube-proxy need nothing but the API
 * server (JOIN_UNITS); kube-router needs the RBAC kc applies with the add-ons,
 * and its Node object, so it comes last.
 */
export function apiClientUnits(plan: ClusterPlan): string[] {
  return [...JOIN_UNITS, ...(runsKubeRouter(plan) ? [KUBE_ROUTER_UNIT] : [])];
}

/** What joins a worker to the cluster: started as soon as the API server is ready. */
export const JOIN_UNITS: readonly string[] = [KUBELET_UNIT, KUBE_PROXY_UNIT];

/**
 * Master units kc starts once the API server is ready: started with it, the
 * controller-manager exits and the scheduler's watches back off (for
 * seconds) until the API server's RBAC bootstrap has granted them access.
 */
export const AFTER_API_SERVER_UNITS: readonly string[] = [UNIT.controllerManager, UNIT.scheduler];

/** What one node of a new cluster is given before it first boots: its files, and links that start some of its units with it. */
export interface BootBundle {
  files: ComponentBundle['files'];
  links: NodeLink[];
  /** Units delivered but left for kc to start (they need the API server first). */
  startedLater: string[];
}

/**
 * Everything a node of a new cluster needs, to be put in place before it
 * boots: its systemd then starts HAProxy, etcd, the API server, containerd
 * and the pod network at once on every node, with no call from kc. What
 * needs the API server ready waits for kc (AFTER_API_SERVER_UNITS, apiClientUnits).
 */
export function bootBundle(plan: ClusterPlan, node: NodePlan, pki: ClusterPki): BootBundle {
  if (node.role === 'lb') return withLinks(lbBundle(plan), []);
  if (node.role === 'master') return withLinks(masterBootFiles(plan, node, pki), AFTER_API_SERVER_UNITS);
  return withLinks(workerBundle(plan, node, pki), apiClientUnits(plan));
}

/**
 * The same for a node joining a running cluster (kc create node): a worker
 * starts everything as it boots (the API server is there already); a
 * master starts nothing until kc has made its etcd member (etcd first, the
 * rest once the member votes).
 */
export function joinBootBundle(plan: ClusterPlan, node: NodePlan, pki: ClusterPki): BootBundle {
  if (node.role === 'worker') return withLinks(workerBundle(plan, node, pki), []);
  const master = masterBootFiles(plan, node, pki);
  return withLinks(master, master.units);
}

/** A master's etcd and control plane, and the admin kubeconfig for kubectl there. */
function masterBootFiles(plan: ClusterPlan, master: NodePlan, pki: ClusterPki): ComponentBundle {
  const bundle = mergeBundles(etcdBundle(plan, master, pki), masterBundle(plan, master, pki));
  return { files: [...bundle.files, adminKubeconfigFile(plan, pki)], units: bundle.units };
}

/** A bundle's files, with links that start its units at boot except `later`. */
function withLinks(bundle: ComponentBundle, later: readonly string[]): BootBundle {
  return {
    files: bundle.files,
    links: enabledAtBoot(bundle.units.filter((unit) => !later.includes(unit))),
    startedLater: bundle.units.filter((unit) => later.includes(unit)),
  };
}
