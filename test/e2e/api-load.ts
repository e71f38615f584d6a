import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { request } from 'node:https';
import { parse } from 'yaml';

/** The admin credentials and API server URL of a context in a kubeconfig kc wrote. */
export async function adminAccess(kubeconfig: string, context: string) {
  const config = parse(await readFile(kubeconfig, 'utf8')) as {
    clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const cluster = config.clusters.find((c) => c.name === context)?.cluster;
  const user = config.users.find((u) => u.name === context)?.user;
  if (!cluster || !user) throw new Error(`no ${context} in ${kubeconfig}`);
  const decode = (s: string) => Buffer.from(s, 'base64');
  return {
    server: cluster.server,
    tls: { ca: decode(cluster['certificate-authority-data']), cert: decode(user['client-certificate-data']), key: decode(user['client-key-data']) },
  };
}

export type AdminAccess = Awaited<ReturnType<typeof adminAccess>>;

export interface Sample {
  kind: 'read' | 'write';
  started: number;
  ended: number;
  ok: boolean;
  error: string;
}

/** One request through the lb on a fresh connection, given up after 5 s: a read lists ConfigMaps, a write makes one. */
export function apiRequest(access: AdminAccess, kind: Sample['kind']): Promise<Sample> {
  const started = Date.now();
  const write = kind === 'write';
  const path = write ? '/api/v1/namespaces/default/configmaps' : '/api/v1/namespaces/default/configmaps?limit=1';
  return new Promise((resolve) => {
    const done = (ok: boolean, error: string) => resolve({ kind, started, ended: Date.now(), ok, error });
    const req = request(new URL(path, access.server), { ...access.tls, agent: false, method: write ? 'POST' : 'GET', timeout: 5000, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => done((res.statusCode ?? 0) < 300, `HTTP ${res.statusCode ?? 0}`));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5s')));
    req.on('error', (error) => done(false, error.message));
    req.end(write ? JSON.stringify({ metadata: { generateName: 'load-' } }) : undefined);
  });
}

/**
 * Reads and writes through the lb, each started every 100 ms whatever the
 * ones before are doing (so a hanging request does not hide what comes
 * after), until `stop()`; `samples()` then gives every request, answered.
 * `access` may be a function: each request then reads the credentials anew,
 * as kubectl reads its kubeconfig at every run (a CA rotation changes them).
 */
export function startApiLoad(access: AdminAccess | (() => Promise<AdminAccess>)): { stop: () => Promise<Sample[]> } {
  const samples: Promise<Sample>[] = [];
  let stopped = false;
  const request = async (kind: Sample['kind']): Promise<Sample> => {
    if (typeof access !== 'function') return apiRequest(access, kind);
    const started = Date.now();
    const current = await access().catch((error: unknown) => error as Error);
    return current instanceof Error ? { kind, started, ended: Date.now(), ok: false, error: `kubeconfig: ${current.message}` } : apiRequest(current, kind);
  };
  const loop = async (kind: Sample['kind']) => {
    while (!stopped) {
      samples.push(request(kind));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const loops = [loop('read'), loop('write')];
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return Promise.all(samples);
    },
  };
}

/**
 * Runs `work` with every core of this machine busy (one spinning process
 * each), as on a loaded CI runner; the spinners end with it, whatever happens.
 */
export async function withBusyCores<T>(work: () => Promise<T>): Promise<T> {
  const spinners = cpus().map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  try {
    return await work();
  } finally {
    for (const spinner of spinners) spinner.kill('SIGKILL');
  }
}
