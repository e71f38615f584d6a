import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ArtifactCache } from '../../src/artifacts/cache.js';
import { artifactByName } from '../../src/artifacts/manifest.js';
import { toolPath } from '../../tools/tool-path.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { BOUNDARY_COUNTERS, BOUNDARY_TABLE } from '../../src/components/boundary.js';
import { execOrThrow, LABEL_CLUSTER } from '../../src/provider/provider.js';
import { cacheDir } from '../../src/util/paths.js';
import { run } from '../../src/util/exec.js';
import { waitUntil } from '../../src/util/poll.js';

const execFileAsync = promisify(execFile);

/** The real kubectl kc built or downloaded (same version as the cluster), used from the host. */
export async function kubectlPath(): Promise<string> {
  const cache = new ArtifactCache(cacheDir());
  const artifact = artifactByName('kubernetes');
  const entry = (await cache.lookup(artifact, 'release')) ?? (await cache.lookup(artifact, 'source'));
  if (!entry) throw new Error('kubectl is not in kc\'s cache: run kc build node-image first');
  return join(entry.binDir, 'kubectl');
}

export function kubectlFor(kubeconfig: string, context: string) {
  return async (args: string[], input?: string): Promise<string> => {
    const bin = await kubectlPath();
    if (input !== undefined) {
      return run(bin, ['--kubeconfig', kubeconfig, '--context', context, ...args], { input });
    }
    const { stdout } = await execFileAsync(bin, ['--kubeconfig', kubeconfig, '--context', context, ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  };
}

/**
 * Helm as users run it, from kc's artifact cache: a release download, or
 * built from its Go module the first time (about 2 minutes on 2 cores).
 */
let helm: Promise<string> | undefined;
export function helmPath(): Promise<string> {
  helm ??= toolPath('helm');
  return helm;
}

export function helmFor(kubeconfig: string, context: string) {
  return async (args: string[]): Promise<string> => {
    const { stdout } = await execFileAsync(await helmPath(), ['--kubeconfig', kubeconfig, '--kube-context', context, ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  };
}

export async function startPortForward(kubeconfig: string, context: string, target: string, remotePort: number): Promise<{ port: number; child: ChildProcess }> {
  const bin = await kubectlPath();
  const child = spawn(bin, ['--kubeconfig', kubeconfig, '--context', context, 'port-forward', target, `:${remotePort}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`port-forward did not start: ${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`port-forward exited with ${code}: ${output}`)));
  });
  return { port, child };
}

/** Builds the test web server into a FROM-scratch image: a workload that needs no registry. */
export async function buildWebImage(tag: string): Promise<void> {
  const dir = fileURLToPath(new URL('../fixtures/webserver/', import.meta.url));
  await run('go', ['build', '-trimpath', '-o', join(dir, 'kc-web'), '.'], {
    cwd: dir,
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
  });
  const engine = new DockerEngine();
  const { contextStream, fileEntry } = await import('../../src/image/context.js');
  await engine.buildImage(contextStream([await fileEntry(join(dir, 'Dockerfile'), 'Dockerfile'), await fileEntry(join(dir, 'kc-web'), 'kc-web')]), { tag });
}

export async function httpGet(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = await response.text();
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return body;
}

/**
 * GETs a URL that a just-created Service makes reachable: kube-proxy programs
 * it within its sync period, so the real port is polled until it answers.
 */
export async function httpGetOnceServing(url: string, timeoutMs = 60_000): Promise<string> {
  let body = '';
  await waitUntil(url, async () => {
    body = await httpGet(url);
    return true;
  }, { timeoutMs, intervalMs: 500 });
  return body;
}

/** How many containers, networks and volumes of a cluster exist (by kc's ownership label). */
export async function clusterResources(name: string): Promise<{ containers: number; networks: number; volumes: number }> {
  const engine = new DockerEngine();
  const labels = { [LABEL_CLUSTER]: name };
  return {
    containers: (await engine.listNodes(labels)).length,
    networks: (await engine.listNetworks(labels)).length,
    volumes: (await engine.listVolumes(labels)).length,
  };
}

/** Packets kc's boundary on `node` has stopped so far (its nftables counter for the given hook). */
export async function boundaryCount(node: string, hook: keyof typeof BOUNDARY_COUNTERS): Promise<number> {
  const output = await execOrThrow(new DockerEngine(), node, ['nft', 'list', 'counter', 'ip', BOUNDARY_TABLE, BOUNDARY_COUNTERS[hook]]);
  const packets = /packets (\d+)/.exec(output)?.[1];
  if (packets === undefined) throw new Error(`no packet count for ${BOUNDARY_COUNTERS[hook]} on ${node}: ${output}`);
  return Number(packets);
}

/**
 * A GET from inside `pod` (kc-web's client, which gives up after 5 s) that
 * must fail at once with `error`, rejected on the pod's own node: an answer
 * from outside the host, or a timeout, fails. Resolves to how long it took.
 */
export async function expectRejectedFromPod(
  kubectl: (args: string[]) => Promise<string>,
  pod: { namespace: string; name: string },
  url: string,
  error: RegExp,
): Promise<number> {
  const started = Date.now();
  const outcome = await kubectl(['-n', pod.namespace, 'exec', pod.name, '--', '/kc-web', 'get', url]).then(
    (body) => `answered: ${body}`,
    (failure: unknown) => (failure as Error & { stderr?: string }).stderr ?? (failure as Error).message,
  );
  const ms = Date.now() - started;
  if (!error.test(outcome)) throw new Error(`${pod.name} → ${url}: expected ${String(error)}, got: ${outcome}`);
  if (ms >= 4000) throw new Error(`${pod.name} → ${url}: took ${ms}ms, a timeout rather than the node's rejection`);
  return ms;
}
