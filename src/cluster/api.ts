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
