import { trustedCaPem } from '../../pki/ca-rotation.js';
import { request } from 'node:https';
import type { ClusterPki } from '../../pki/types.js';
import type { ClusterState } from '../../state/cluster-state.js';

export interface ApiResponse {
  status: number;
  body: string;
}

/** How kc asks the API server something from the host: apiGet, or a stand-in in tests. */
export type ApiProbe = (server: string, pki: ClusterPki, path: string) => Promise<ApiResponse>;

/** A GET against the API server as kc's admin user, the way kubectl on this host reaches it. */
export function apiGet(server: string, pki: ClusterPki, path: string, timeoutMs = 5000): Promise<ApiResponse> {
  const url = new URL(path, server);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca: trustedCaPem(pki), cert: pki.admin.certPem, key: pki.admin.keyPem, timeout: timeoutMs, method: 'GET' },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.href} within ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end();
  });
}

export function hostApiServerUrl(address: string, port: number): string {
  return `https://${address}:${port}`;
}

/**
 * A GET of a JSON object from the API server through `probe`. Polls use it
 * instead of kubectl on a master: an HTTPS request from this process costs
 * milliseconds, a kubectl process a few hundred of CPU the starting
 * components need.
 */
export async function apiGetJson<T>(api: HostApi, path: string): Promise<T> {
  const response = await api.probe(api.server, api.pki, path);
  if (response.status !== 200) throw new Error(`GET ${path}: HTTP ${response.status} ${response.body.slice(0, 200)}`);
  return JSON.parse(response.body) as T;
}

/** The parts of a Node kc reads. */
export interface NodeObject {
  metadata: { name: string };
  spec?: { podCIDR?: string };
  status?: { conditions?: Condition[] };
}

/** A condition of a Node or a Pod, with the times kc reads. */
export interface Condition {
  type: string;
  status: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

/** Its Ready condition, when it has one. */
export function readyCondition(object: { status?: { conditions?: Condition[] } }): Condition | undefined {
  return object.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Every Node the API server knows. */
export async function listNodes(api: HostApi): Promise<NodeObject[]> {
  return (await apiGetJson<{ items: NodeObject[] }>(api, '/api/v1/nodes')).items;
}

export function isReady(object: { status?: { conditions?: Condition[] } }): boolean {
  return readyCondition(object)?.status === 'True';
}

/** The API server as this host reaches it (through the lb's published port), and how to ask it. */
export interface HostApi {
  probe: ApiProbe;
  server: string;
  pki: ClusterPki;
}

/** How this host reaches a created cluster's API server: the lb's published port, recorded in its state. */
export function hostApiOf(state: Pick<ClusterState, 'plan' | 'pki' | 'apiServerHostPort'>, probe: ApiProbe = apiGet): HostApi {
  return { probe, server: hostApiServerUrl(state.plan.spec.apiServerAddress, state.apiServerHostPort ?? state.plan.spec.apiServerPort), pki: state.pki };
}
