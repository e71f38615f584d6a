import type { ClusterPlan, NodePlan } from '../model/plan.js';
import type { ClusterPki } from '../pki/types.js';
import { cniBridgeBundle } from './cni-bridge.js';
import { containerdBundle } from './containerd.js';
import { haproxyBundle } from './haproxy.js';
import { KUBE_PROXY_UNIT, kubeProxyBundle } from './kube-proxy.js';
import { KUBELET_UNIT, kubeletBundle } from './kubelet.js';
import { mergeBundles, type ComponentBundle } from './types.js';

export function lbBundle(plan: ClusterPlan): ComponentBundle {
  return haproxyBundle(plan);
}

/** Everything a worker runs, in start order. The pod network's own files come with it when kc manages one on the node. */
export function workerBundle(plan: ClusterPlan, worker: NodePlan, pki: ClusterPki): ComponentBundle {
  const network = plan.spec.cni === 'bridge' ? [cniBridgeBundle(plan, worker)] : [];
  return mergeBundles(containerdBundle(), ...network, kubeletBundle(plan, worker, pki), kubeProxyBundle(plan, worker, pki));
}

/**
 * Worker units that talk to the API server. kc starts them once it answers:
 * started earlier, kubelet backs off between registration attempts (up to 7 s)
 * and the node joins late.
 */
export const API_CLIENT_UNITS: readonly string[] = [KUBELET_UNIT, KUBE_PROXY_UNIT];
