import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { freeTcpPort } from '../../src/util/net.js';
import { boundaryCount, buildWebImage, clusterResources, expectRejectedFromPod, httpGetOnceServing, kubectlFor, kubectlPath } from './cluster-helpers.js';
import { waitUntil } from '../../src/util/poll.js';
import { kc, testClusterName } from './helpers.js';
import { execOrThrow } from '../../src/provider/provider.js';

/**
 * Daily use: two small clusters side by side, one from a config file (extra
 * port mapping, extra API server flag, kube-proxy in nftables mode) and one
 * from flags, and every command a kind user reaches for, checked against the
 * real clusters.
 */
const FROM_FILE = testClusterName('daily-a');
const FROM_FLAGS = testClusterName('daily-b');
const WEB_IMAGE = 'kc-e2e/web:1';
const NODE_PORT = 30080;
const engine = new DockerEngine();
const execFileAsync = promisify(execFile);
let dir: string;
let kubeconfig: string;
let hostPort: number;

async function expectOk(args: string[]): Promise<string> {
  const result = await kc(args);
  expect(result.code, `kc ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('several clusters, config file, get / load / export commands', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-daily-'));
    kubeconfig = join(dir, 'kubeconfig');
    hostPort = await freeTcpPort('127.0.0.1');
    for (const name of [FROM_FILE, FROM_FLAGS]) await kc(['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfig]);
    const config = join(dir, 'cluster.yaml');
    await writeFile(
      config,
      [
        'apiVersion: kc.dev/v1alpha1',
        'kind: Cluster',
        `name: ${FROM_FILE}`,
        'nodes:',
        '  - role: master',
        '  - role: worker',
        '    extraPortMappings:',
        `      - { containerPort: ${NODE_PORT}, hostPort: ${hostPort}, listenAddress: 127.0.0.1 }`,
        'networking:',
        '  kubeProxyMode: nftables',
        'extraArgs:',
        '  apiserver: { v: "3" }',
        '',
      ].join('\n'),
    );
    // Both at once: they must not disturb each other (networks, ports, kubeconfig).
    const created = await Promise.all([
      kc(['create', 'cluster', '--config', config, '--kubeconfig', kubeconfig]),
      kc(['create', 'cluster', '--name', FROM_FLAGS, '--control-planes', '1', '--workers', '1', '--kubeconfig', kubeconfig]),
    ]);
    for (const result of created) expect(result.code, result.stderr).toBe(0);
    await buildWebImage(WEB_IMAGE);
  });

  afterAll(async () => {
    for (const name of [FROM_FILE, FROM_FLAGS]) await kc(['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfig]);
    await rm(dir, { recursive: true, force: true });
  });

  it('lists both clusters and their nodes, as text and as JSON', async () => {
    const clusters = JSON.parse(await expectOk(['get', 'clusters', '--json'])) as { name: string; status: string; nodes: number }[];
    expect(clusters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: FROM_FILE, status: 'running', nodes: 3 }), expect.objectContaining({ name: FROM_FLAGS, status: 'running', nodes: 3 })]),
    );
    // Name, status, nodes, then the add-ons (each ready or still starting).
    const lines = (await expectOk(['get', 'clusters'])).split('\n');
    for (const name of [FROM_FILE, FROM_FLAGS]) {
      expect(lines.find((l) => l.startsWith(`${name}\t`))).toMatch(new RegExp(`^${name}\\trunning\\t3 nodes\\tstorage (ready|starting), metrics-server (ready|starting), load-balancer (ready|starting), ingress (ready|starting), registry ready$`));
    }
    const nodes = JSON.parse(await expectOk(['get', 'nodes', '--name', FROM_FILE, '--json'])) as { name: string; role: string; status: string }[];
    expect(nodes.map((n) => `${n.name}:${n.role}:${n.status}`)).toEqual([
      `${FROM_FILE}-lb:lb:running`,
      `${FROM_FILE}-master-0:master:running`,
      `${FROM_FILE}-worker-0:worker:running`,
    ]);
  });

  it('keeps the clusters apart: own networks and subnets, own API ports, own contexts', async () => {
    const subnets = await Promise.all(
      [FROM_FILE, FROM_FLAGS].map(async (name) =>
        (await execFileAsync('docker', ['network', 'inspect', `kc-${name}`, '-f', '{{(index .IPAM.Config 0).Subnet}}'])).stdout.trim()),
    );
    expect(subnets[0]).toMatch(/^\d+\.\d+\.\d+\.0\/24$/);
    expect(subnets[0]).not.toBe(subnets[1]);
    for (const name of [FROM_FILE, FROM_FLAGS]) {
      const kubectl = kubectlFor(kubeconfig, `kc-${name}`);
      expect((await kubectl(['get', 'nodes', '-o', 'name'])).trim()).toBe(`node/${name}-worker-0`);
    }
    const servers = await Promise.all(
      [FROM_FILE, FROM_FLAGS].map(async (name) => /server: (\S+)/.exec(await expectOk(['get', 'kubeconfig', '--name', name]))?.[1]),
    );
    expect(servers[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(servers[0]).not.toBe(servers[1]);
  });

  it('applies the config file: extra API server flags, kube-proxy in nftables mode, a worker port published on the host', async () => {
    const unit = await execOrThrow(engine, `${FROM_FILE}-master-0`, ['systemctl', 'show', '-p', 'ExecStart', 'kube-apiserver']);
    expect(unit).toContain('--v=3');
    const proxyLog = await execOrThrow(engine, `${FROM_FILE}-worker-0`, ['journalctl', '-u', 'kube-proxy', '--no-pager', '-o', 'cat']);
    expect(proxyLog).toContain('Using nftables Proxier');
    const kubectl = kubectlFor(kubeconfig, `kc-${FROM_FILE}`);
    await expectOk(['load', 'docker-image', WEB_IMAGE, '--name', FROM_FILE]);
    await kubectl(['create', 'deployment', 'web', `--image=${WEB_IMAGE}`, '--port=8080']);
    await kubectl(['rollout', 'status', 'deployment/web', '--timeout=180s']);
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, nodePort: NODE_PORT }] },
    }));
    expect(await httpGetOnceServing(`http://127.0.0.1:${hostPort}/`)).toMatch(/^hello from web-/);
    // A port the Service does not serve stops on the pod's node (kube-proxy's nftables table rejects it first, kc's boundary is behind it).
    const clusterIp = (await kubectl(['get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const webPod = (await kubectl(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
    await expectRejectedFromPod(kubectl, { namespace: 'default', name: webPod }, `http://${clusterIp}:81/`, /connection refused|network is unreachable/);
    // kc's table is loaded behind it all the same (reading its counter fails when it is not).
    await expect(boundaryCount(`${FROM_FILE}-worker-0`, 'forwarded')).resolves.toBeTypeOf('number');
  });

  it('exports the kubeconfig context again after it was removed, leaving other contexts alone', async () => {
    const kubectl = kubectlFor(kubeconfig, `kc-${FROM_FLAGS}`);
    await execFileAsync(await kubectlPath(), ['--kubeconfig', kubeconfig, 'config', 'delete-context', `kc-${FROM_FLAGS}`]);
    await expect(kubectl(['get', 'nodes'])).rejects.toThrow();
    await expectOk(['export', 'kubeconfig', '--name', FROM_FLAGS, '--kubeconfig', kubeconfig]);
    expect((await kubectl(['get', 'nodes', '-o', 'name'])).trim()).toBe(`node/${FROM_FLAGS}-worker-0`);
    expect((await stat(kubeconfig)).mode & 0o777).toBe(0o600);
    expect(await readFile(kubeconfig, 'utf8')).toContain(`kc-${FROM_FILE}`);
  });

  it('gives an internal kubeconfig that works from a container on the cluster network', async () => {
    const internal = await expectOk(['get', 'kubeconfig', '--name', FROM_FLAGS, '--internal']);
    expect(internal).toContain(`server: https://${FROM_FLAGS}-lb:6443`);
    const node = `${FROM_FLAGS}-worker-0`;
    await execOrThrow(engine, node, ['sh', '-c', `cat > /tmp/internal.kubeconfig <<'EOF'\n${internal}EOF`]);
    const nodes = await execOrThrow(engine, node, ['kubectl', '--kubeconfig', '/tmp/internal.kubeconfig', 'get', 'nodes', '-o', 'name']);
    expect(nodes.trim()).toBe(`node/${node}`);
  });

  it('loads an image archive into a cluster, and a pod runs it with no registry', async () => {
    const archive = join(dir, 'web.tar');
    await execFileAsync('docker', ['save', '-o', archive, WEB_IMAGE]);
    await expectOk(['load', 'image-archive', archive, '--name', FROM_FLAGS]);
    const kubectl = kubectlFor(kubeconfig, `kc-${FROM_FLAGS}`);
    await kubectl(['run', 'web', `--image=${WEB_IMAGE}`, '--image-pull-policy=Never', '--port=8080']);
    await kubectl(['wait', '--for=condition=Ready', 'pod/web', '--timeout=120s']);
    expect(await kubectl(['exec', 'web', '--', '/kc-web', 'get', 'http://127.0.0.1:8080/'])).toMatch(/^hello from web/);
  });

  it('exports logs as a folder and a tarball, without private keys, with a crash-looping pod\'s previous log and the cluster\'s events', async () => {
    const kubectl = kubectlFor(kubeconfig, `kc-${FROM_FILE}`);
    // A pod that fails at once, every time, saying where it tried to go: kubelet keeps its previous run's log.
    const marker = `http://127.0.0.1:1/crash-marker-${process.pid}`;
    await kubectl(['run', 'crash', `--image=${WEB_IMAGE}`, '--image-pull-policy=Never', '--restart=Always', '--command', '--', '/kc-web', 'get', marker]);
    await waitUntil('the crashing pod to have restarted twice', async () => {
      const restarts = Number((await kubectl(['get', 'pod', 'crash', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])).trim() || 0);
      return restarts >= 2 || `${restarts} restarts`;
    }, { timeoutMs: 180_000, intervalMs: 2000 });
    const node = (await kubectl(['get', 'pod', 'crash', '-o', 'jsonpath={.spec.nodeName}'])).trim();
    const out = join(dir, 'logs');
    const printed = await expectOk(['export', 'logs', out, '--name', FROM_FILE]);
    const podFolder = (await readdir(join(out, node, 'pods'))).find((name) => name.startsWith('default_crash_'));
    expect(podFolder, `default_crash_<uid> in ${node}/pods`).toBeDefined();
    // kubelet keeps the log of the last run that ended (what `kubectl logs --previous` shows) beside the current one: <restarts>.log.
    const runs = await readdir(join(out, node, 'pods', podFolder ?? '', 'crash'));
    const previous = runs.filter((file) => Number.parseInt(file, 10) >= 1);
    expect(previous.length, `a log of a run after a restart among ${runs.join(', ')}`).toBeGreaterThan(0);
    const logs = await Promise.all(previous.map((file) => readFile(join(out, node, 'pods', podFolder ?? '', 'crash', file), 'utf8')));
    expect(logs.join('')).toContain(marker);
    expect(await readFile(join(out, 'cluster', 'events.txt'), 'utf8')).toMatch(/BackOff.*pod\/crash/);
    expect(await readFile(join(out, 'cluster', 'nodes.txt'), 'utf8')).toContain(`Name:               ${node}`);
    expect(await readFile(join(out, 'cluster', 'addons.txt'), 'utf8')).toContain('metrics-server');
    await kubectl(['delete', 'pod', 'crash', '--wait=false']);
    expect(printed).toContain(`${out}.tar.gz`);
    expect((await readdir(out)).sort()).toEqual(expect.arrayContaining([`${FROM_FILE}-lb`, `${FROM_FILE}-master-0`, `${FROM_FILE}-worker-0`]));
    for (const file of ['etcd.log', 'kube-apiserver.log', 'versions.txt']) {
      expect((await stat(join(out, `${FROM_FILE}-master-0`, file))).size, file).toBeGreaterThan(0);
    }
    expect(await readFile(join(out, `${FROM_FILE}-worker-0`, 'kubelet.log'), 'utf8')).toContain('kubelet');
    // Every unit the components run is collected, the pod network's boot unit too.
    expect(await readFile(join(out, `${FROM_FILE}-worker-0`, 'kc-pod-network.log'), 'utf8')).toMatch(/Finished kc-pod-network\.service/);
    const listing = (await execFileAsync('tar', ['tzf', `${out}.tar.gz`])).stdout;
    expect(listing).toContain(`${FROM_FILE}-worker-0/kubelet.log`);
    const { stdout: keys } = await execFileAsync('grep', ['-rl', 'PRIVATE KEY', out]).catch(() => ({ stdout: '' }));
    expect(keys).toBe('');
  });

  it('prints a bash completion script that bash accepts, and the versions it runs', async () => {
    const script = await expectOk(['completion', 'bash']);
    const path = join(dir, 'kc-completion.bash');
    await writeFile(path, script);
    await execFileAsync('bash', ['-n', path]);
    expect(script).toMatch(/complete .*kc/);
    expect(await expectOk(['version'])).toMatch(/kubernetes\s+v1\.37\.2/i);
  });

  it('is quiet with -q, and deletes several clusters in one command', async () => {
    const quiet = await kc(['-q', 'delete', 'cluster', '--name', 'never-created']);
    expect(quiet).toMatchObject({ code: 0, stderr: '' });
    // By name rather than --all, so that running the tests never deletes a developer's own clusters.
    await expectOk(['delete', 'clusters', FROM_FILE, FROM_FLAGS, '--kubeconfig', kubeconfig]);
    for (const name of [FROM_FILE, FROM_FLAGS]) expect(await clusterResources(name)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    const names = (JSON.parse(await expectOk(['get', 'clusters', '--json'])) as { name: string }[]).map((c) => c.name);
    expect(names).not.toContain(FROM_FILE);
    expect(names).not.toContain(FROM_FLAGS);
    expect(await readFile(kubeconfig, 'utf8')).not.toContain(`kc-${FROM_FILE}`);
  });
});
