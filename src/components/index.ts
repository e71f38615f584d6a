import type { ClusterPlan, NodePlan } from '../cluster/plan.js';
import type { ClusterPki } from '../pki/types.js';
import { cniBridgeBundle } from './cni-bridge.js';
import { containerdBundle } from './containerd.js';
import { haproxyBundle } from './haproxy.js';
import { KUBE_PROXY_UNIT, kubeProxyBundle } from './kube-proxy.js';
import { KUBE_ROUTER_UNIT, kubeRouterBundle } from './kube-router.js';
import { KUBELET_UNIT, kubeletBundle } from './kubelet.js';
import { mergeBundles, type ComponentBundle } from './types.js';

export function lbBundle(plan: ClusterPlan): ComponentBundle {
  return haproxyBundle(plan);
}

/** True when kube-router's policy controller runs on the workers (the default with kc's bridge network). */
export function runsKubeRouter(plan: ClusterPlan): boolean {
  // Specs saved by kc versions before networkPolicy existed have no such field: those clusters have no kube-router.
  return plan.spec.cni === 'bridge' && plan.spec.networkPolicy === 'kube-router';
}

/** Everything a worker runs, in start order. The pod network's own files come with it when kc manages one on the node. */
export function workerBundle(plan: ClusterPlan, worker: NodePlan, pki: ClusterPki): ComponentBundle {
  const network = plan.spec.cni === 'bridge' ? [cniBridgeBundle(plan, worker)] : [];
  const policy = runsKubeRouter(plan) ? [kubeRouterBundle(plan, worker, pki)] : [];
  return mergeBundles(containerdBundle(), ...network, kubeletBundle(plan, worker, pki), kubeProxyBundle(plan, worker, pki), ...policy);
}

/**
 * Worker units that talk to the API server. kc starts them once it answers:
 * started earlier, kubelet backs off between registration attempts (up to 7 s)
 * and the node joins late. kube-router needs its Node object, so it comes last.
 */
export function apiClientUnits(plan: ClusterPlan): string[] {
  return [KUBELET_UNIT, KUBE_PROXY_UNIT, ...(runsKubeRouter(plan) ? [KUBE_ROUTER_UNIT] : [])];
}
