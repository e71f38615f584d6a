import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { describe, expect, it } from 'vitest';
import {
  defaultLogsDir,
  engineInfoSummary,
  exportableState,
  exportLogs,
  POD_LOGS_DIR,
  KC_UNITS,
  nodeCommands,
  parseUnitList,
  unitsToCollect,
  versionScript,
} from '../../src/cluster/ops/logs.js';
import { planCluster } from '../../src/model/plan.js';
import { KC_UNITS as COMPONENT_UNITS } from '../../src/components/units.js';
import { STATE_SCHEMA_VERSION, type ClusterState } from '../../src/state/cluster-state.js';
import { defaultClusterSpec } from '../../src/config/defaults.js';
import { demuxBuffer } from '../../src/provider/docker/engine.js';
import type { ClusterPki } from '../../src/pki/types.js';

// `systemctl list-units --all --no-legend --plain --full PATTERNS` on a worker (kubelet crash-looping).
const WORKER_UNITS = `
containerd.service       loaded    active     running containerd container runtime
kc-import-images.service loaded    active     exited  Import kc's pod images into containerd
kube-proxy.service       loaded    active     running Kubernetes network proxy
kube-router.service      loaded    active     running kube-router's network policy controller
kubelet.service          loaded    activating auto-restart Kubernetes node agent
`;
// `systemctl list-unit-files --no-legend --full PATTERNS` on the same worker: HAProxy ships disabled.
const WORKER_UNIT_FILES = `
containerd.service       enabled  enabled
haproxy.service          disabled enabled
kc-import-images.service enabled  enabled
kube-proxy.service       enabled  enabled
kube-router.service      enabled  enabled
kubelet.service          enabled  enabled
`;
const MASTER_UNITS = `
● etcd.service                    loaded active running etcd: the cluster store
  kube-apiserver.service          loaded active running Kubernetes API server
  kube-controller-manager.service loaded failed failed  Kubernetes controller manager
  kube-scheduler.service          loaded active running Kubernetes scheduler
  containerd.service              not-found inactive dead containerd.service
`;
const LB_UNIT_FILES = 'haproxy.service enabled enabled\nhaproxy@.service static -\n';

describe('choosing which units to collect', () => {
  it('reads the unit name and load/file state, with or without the bullet of a failed unit', () => {
    expect(parseUnitList(MASTER_UNITS).slice(0, 2)).toEqual([
      { name: 'etcd.service', state: 'loaded' },
      { name: 'kube-apiserver.service', state: 'loaded' },
    ]);
    expect(parseUnitList('\n\n')).toEqual([]);
  });

  it('collects the loaded kc units of a worker, in start order, and not the disabled HAProxy', () => {
    expect(unitsToCollect(WORKER_UNITS, WORKER_UNIT_FILES)).toEqual(['containerd', 'kc-import-images', 'kubelet', 'kube-proxy', 'kube-router']);
  });

  it('collects failed units but not units that are merely referenced (not-found)', () => {
    expect(unitsToCollect(MASTER_UNITS)).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
  });

  it('finds enabled unit files that systemd has not loaded (the lb before HAProxy started), ignoring other units', () => {
    expect(unitsToCollect('', LB_UNIT_FILES)).toEqual(['haproxy']);
    expect(unitsToCollect('ssh.service loaded active running OpenSSH\n', 'kubelet.service masked enabled\n')).toEqual([]);
  });

  it('collects every unit the components run, the pod network\'s too', () => {
    expect(KC_UNITS).toEqual(COMPONENT_UNITS.map((unit) => unit.replace(/\.service$/, '')));
    expect(KC_UNITS).toContain('kc-pod-network');
    expect(KC_UNITS).toContain('kube-router');
    const podNetwork = 'kc-pod-network.service loaded active exited kc routed pod network\n';
    expect(unitsToCollect(`${WORKER_UNITS}${podNetwork}`)).toContain('kc-pod-network');
  });
});

describe('what is collected on a node', () => {
  it('writes the whole boot journal and one file per unit', () => {
    const commands = nodeCommands('master', ['etcd', 'kube-apiserver']);
    const byFile = Object.fromEntries(commands.map((c) => [c.file, c.command]));
    expect(byFile['journal.log']).toEqual(['journalctl', '--no-pager', '-o', 'short-precise', '-b']);
    expect(byFile['etcd.log']).toEqual(['journalctl', '--no-pager', '-o', 'short-precise', '-u', 'etcd.service']);
    expect(byFile['kube-apiserver.log']).toBeDefined();
    expect(byFile['systemd-units.txt']).toEqual(['systemctl', 'list-units', '--all', '--no-pager']);
    expect(byFile['versions.txt']?.[0]).toBe('sh');
    expect(Object.keys(byFile).some((f) => f.startsWith('crictl'))).toBe(false);
  });

  it('asks the CRI for containers, pods and images on workers only', () => {
    const files = nodeCommands('worker', ['kubelet']).map((c) => c.file);
    expect(files).toEqual(expect.arrayContaining(['crictl-ps.txt', 'crictl-pods.txt', 'crictl-images.txt', 'kubelet.log']));
    const ps = nodeCommands('worker', []).find((c) => c.file === 'crictl-ps.txt');
    expect(ps?.command.slice(-2)).toEqual(['ps', '-a']);
    expect(nodeCommands('lb', []).map((c) => c.file)).not.toContain('crictl-ps.txt');
  });

  it('lists the versions of the binaries a node has and skips the missing ones', () => {
    const script = versionScript([
      ['echo', 'v1.2.3'],
      ['kc-no-such-binary', '--version'],
    ]);
    const output = execFileSync('sh', ['-c', script], { encoding: 'utf8' });
    expect(output).toBe('$ echo v1.2.3\nv1.2.3\n\n');
    expect(versionScript()).toContain("echo '$ kubelet --version'");
    expect(versionScript()).toContain('etcd --version');
  });
});

describe('the cluster part of an export', () => {
  const plan = planCluster(defaultClusterSpec({ name: 'demo' }), '172.30.7.0/24');
  const state: ClusterState = {
    schemaVersion: STATE_SCHEMA_VERSION,
    plan,
    pki: {
      ca: { certPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', keyPem: '-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n' },
      encryptionKey: 'c2VjcmV0LWVuY3J5cHRpb24ta2V5',
    } as unknown as ClusterPki,
    apiServerHostPort: 40123,
    kubeconfigPaths: ['/home/u/.kube/config'],
    createdAt: '2025-01-02T03:04:05.000Z',
  };

  it('has the spec and plan but no key, certificate or encryption key', () => {
    const text = JSON.stringify(exportableState(state));
    expect(JSON.parse(text)).toMatchObject({ plan: { spec: { name: 'demo' } }, apiServerHostPort: 40123, createdAt: state.createdAt });
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain('secret');
    expect(text).not.toContain('c2VjcmV0');
    expect(text).not.toContain('"pki"');
  });

  it('keeps only the useful, non-identifying fields of docker info', () => {
    expect(engineInfoSummary({ ServerVersion: '27.5.1', CgroupVersion: '2', HttpProxy: 'http://user:pw@proxy', Labels: ['x'] })).toEqual({
      ServerVersion: '27.5.1',
      CgroupVersion: '2',
    });
  });

  it('names the default folder after the cluster and the UTC time', () => {
    expect(defaultLogsDir('demo', new Date('2025-01-02T03:04:05.678Z'))).toBe('kc-logs-demo-20250102T030405Z');
  });
});

describe('demuxBuffer (docker logs of a container without a TTY)', () => {
  const frame = (type: number, text: string) => {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = type;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };

  it('joins stdout and stderr payloads in order', () => {
    expect(demuxBuffer(Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err\n'), frame(1, 'out 2\n')])).toString()).toBe('out 1\nerr\nout 2\n');
  });

  it('leaves output that is not framed as it is', () => {
    expect(demuxBuffer(Buffer.from('plain console output\n')).toString()).toBe('plain console output\n');
  });
});

describe('an export of a cluster whose app crashed', () => {
  it('holds every container\'s log on its worker, the previous run\'s too, and the cluster\'s events, pods and nodes', async () => {
    const plan = planCluster(defaultClusterSpec({ name: 'crash', controlPlanes: 1, workers: 1 }), '172.30.8.0/24');
    const state = { schemaVersion: STATE_SCHEMA_VERSION, plan, kubeconfigPaths: [], createdAt: '' } as unknown as ClusterState;
    const engine = new FakeEngine({ images: ['kc/node:test'] });
    await engine.createNetwork({ name: 'kc-crash', cluster: 'crash', subnet: '172.30.8.0/24', gateway: '172.30.8.1' });
    for (const node of [plan.lb, ...plan.masters, ...plan.workers]) {
      await engine.createNode({
        name: node.name, cluster: 'crash', role: node.role, image: 'kc/node:test', network: 'kc-crash', ip: node.ip, ports: [], mounts: [], volumes: [], peers: [],
      });
    }
    const worker = plan.workers[0]?.name ?? '';
    const podDir = `${POD_LOGS_DIR}/default_app-7d9_1234/app`;
    await engine.copyFiles(worker, [
      { path: `${podDir}/0.log`, content: 'panic: cannot open /data/config.yaml\n' },
      { path: `${podDir}/1.log`, content: 'starting app\n' },
    ]);
    engine.onExec = (_node, command) => {
      const line = command.join(' ');
      if (line.includes('get events')) return { exitCode: 0, stdout: 'default  Warning  BackOff  pod/app-7d9  Back-off restarting failed container app\n', stderr: '' };
      if (line.includes('describe nodes')) return { exitCode: 0, stdout: 'Name: crash-worker-0\nConditions: Ready True\n', stderr: '' };
      return { exitCode: 0, stdout: '', stderr: '' };
    };
    const dir = await mkdtemp(join(tmpdir(), 'kc-logs-'));
    try {
      const nodes = await engine.listNodes({ 'dev.kc.cluster': 'crash' });
      const results = await exportLogs({ engine, nodes, state, dir });
      const logs = join(dir, worker, 'pods', 'default_app-7d9_1234', 'app');
      expect((await readdir(logs)).sort()).toEqual(['0.log', '1.log']);
      expect(await readFile(join(logs, '0.log'), 'utf8')).toBe('panic: cannot open /data/config.yaml\n');
      expect(await readFile(join(dir, 'cluster', 'events.txt'), 'utf8')).toContain('Back-off restarting failed container app');
      expect(await readFile(join(dir, 'cluster', 'nodes.txt'), 'utf8')).toContain('Conditions: Ready True');
      expect(results.find((r) => r.node === worker)?.errors).toBe(0);
      // Only workers run pods: a master has no pods/ folder and no error for it.
      await expect(readdir(join(dir, plan.masters[0]?.name ?? '', 'pods'))).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
