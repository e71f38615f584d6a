import { request } from 'node:https';
import type { ClusterPki } from '../pki/types.js';

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
      { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem, timeout: timeoutMs, method: 'GET' },
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
export async function apiGetJson<T>(probe: ApiProbe, server: string, pki: ClusterPki, path: string): Promise<T> {
  const response = await probe(server, pki, path);
  if (response.status !== 200) throw new Error(`GET ${path}: HTTP ${response.status} ${response.body.slice(0, 200)}`);
  return JSON.parse(response.body) as T;
}

/** The parts of a Node kc reads. */
export interface NodeObject {
  metadata: { name: string };
  spec?: { podCIDR?: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** Every Node the API server knows. */
export async function listNodes(probe: ApiProbe, server: string, pki: ClusterPki): Promise<NodeObject[]> {
  return (await apiGetJson<{ items: NodeObject[] }>(probe, server, pki, '/api/v1/nodes')).items;
}

export function isReady(node: NodeObject): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}
