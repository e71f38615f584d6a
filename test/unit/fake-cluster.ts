import type { ApiProbe } from '../../src/cluster/api.js';
import { createCluster, type CreateOptions } from '../../src/cluster/create.js';
import type { ClusterSpec } from '../../src/config/types.js';
import { nodeName, type ClusterPlan } from '../../src/model/plan.js';
import { generateClusterPki } from '../../src/pki/cluster-pki.js';
import type { FakeEngine, FakeNode } from '../../src/provider/fake/engine.js';
import type { ExecResult, Provider } from '../../src/provider/provider.js';
import { silentProgress } from '../../src/util/progress.js';

/** A command that succeeded with this output. */
export const ok = (stdout = ''): ExecResult => ({ exitCode: 0, stdout, stderr: '' });

/**
 * What runs inside the nodes of a fake cluster, answered as a healthy
 * cluster would: systemd up, units active, every worker of the node's
 * cluster (on any of `engines`) registered without a podCIDR yet (the
 * create's pod network step sets it) and Ready, CoreDNS available. Any other
 * command succeeds with no output.
 */
export function healthyCluster(...engines: FakeEngine[]) {
  return (node: FakeNode, command: string[]): ExecResult => {
    const line = command.join(' ');
    const workers = engines
      .flatMap((engine) => [...engine.nodes.values()])
      .filter((n) => n.labels['dev.kc.role'] === 'worker' && n.labels['dev.kc.cluster'] === node.spec.cluster)
      .map((n) => n.spec.name);
    if (line === 'systemctl is-system-running') return ok('running\n');
    if (line.startsWith('systemctl is-active')) return ok('active\n');
    if (line.includes('get nodes -o name')) return ok(workers.map((w) => `node/${w}`).join('\n'));
    if (line.includes('{.spec.podCIDR}')) return ok(workers.map((w) => `${w}=`).join('\n'));
    // One node (kc create node): registered and Ready.
    const oneNode = /get node (\S+) -o name/.exec(line);
    if (oneNode) return ok(`node/${oneNode[1] ?? ''}`);
    if (/get node \S+ -o jsonpath/.test(line)) return ok('True');
    if (line.includes('{.status.conditions[?(@.type=="Ready")].status}')) return ok(workers.map((w) => `${w}=True`).join('\n'));
    if (line.includes('get deployment coredns')) return ok('1');
    return ok();
  };
}

/**
 * The API server of a healthy fake cluster as kc reads it from the host:
 * ready, every worker of `spec` registered (no podCIDR yet) and Ready,
 * CoreDNS available.
 */
export function healthyApi(spec: ClusterSpec): ApiProbe {
  const workers = Array.from({ length: spec.workers }, (_, index) => nodeName(spec.name, 'worker', index));
  const nodes = workers.map((name) => ({ metadata: { name }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'True' }] } }));
  return async (_server, _pki, path) => {
    if (path === '/api/v1/nodes') return { status: 200, body: JSON.stringify({ items: nodes }) };
    if (path.endsWith('/deployments/coredns')) return { status: 200, body: JSON.stringify({ status: { availableReplicas: 1 } }) };
    return { status: 200, body: 'ok' };
  };
}

/** The real create pipeline on a fake engine and a healthy fake API server; the PKI is made as for real. */
export function createFakeCluster(
  engine: Provider,
  spec: ClusterSpec,
  kubeconfigPath: string,
  options: Pick<CreateOptions, 'afterStep' | 'buildNodeImage' | 'apiProbe'> = {},
) {
  return createCluster({
    engine,
    progress: silentProgress,
    spec,
    kubeconfigPath,
    apiProbe: healthyApi(spec),
    generatePki: (plan: ClusterPlan) => generateClusterPki(plan),
    ...options,
  });
}
