import { describe, expect, it } from 'vitest';
import { CAPFILTER_RUNTIME, nodeContainer } from '../../src/provider/docker/engine.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { SubnetTakenError, type NodeSpec } from '../../src/provider/provider.js';

const worker: NodeSpec = {
  name: 'dev-worker-0',
  cluster: 'dev',
  role: 'worker',
  image: 'kc/node:v1.37.2',
  network: 'kc-dev',
  ip: '172.30.0.100',
  ports: [{ containerPort: 30080, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8080 }],
  mounts: [{ hostPath: '/tmp/data', containerPath: '/data', readOnly: true }],
  volumes: [{ name: 'dev-worker-0-containerd', path: '/var/lib/containerd' }],
  peers: [{ name: 'dev-lb', ip: '172.30.0.2' }, { name: 'dev-worker-0', ip: '172.30.0.100' }],
};

describe('a node container on Docker', () => {
  it('is labelled with its cluster and role, with the mounts, ports and volumes kc asked for', () => {
    const container = nodeContainer(worker, undefined, true);
    expect(container.labels).toEqual({ 'dev.kc.cluster': 'dev', 'dev.kc.role': 'worker' });
    expect(container.binds).toEqual(['/lib/modules:/lib/modules:ro', '/tmp/data:/data:ro']);
    expect(container.ports).toEqual({ '30080/tcp': { hostIp: '127.0.0.1', hostPort: 8080 } });
    expect(container.volumes).toEqual({ 'dev-worker-0-containerd': '/var/lib/containerd' });
    expect(container.tmpfs).toHaveProperty('/run');
    expect(container.extraHosts).toEqual(['dev-lb:172.30.0.2', 'dev-worker-0:172.30.0.100']);
    expect(nodeContainer(worker, undefined, false).binds).toEqual(['/tmp/data:/data:ro']);
  });

  it('runs with the capability-filtering runtime only when the engine has it registered', () => {
    expect(nodeContainer(worker, CAPFILTER_RUNTIME, true).runtime).toBe('kc-runc');
    expect(nodeContainer(worker, undefined, true).runtime).toBeUndefined();
  });
});

describe('the fake engine', () => {
  it('refuses a subnet another network has, as Docker does, so create tries the next one', async () => {
    const engine = new FakeEngine();
    await engine.createNetwork({ name: 'a', cluster: 'a', subnet: '172.30.0.0/24', gateway: '172.30.0.1' });
    await expect(engine.createNetwork({ name: 'b', cluster: 'b', subnet: '172.30.0.0/24', gateway: '172.30.0.1' })).rejects.toBeInstanceOf(SubnetTakenError);
  });

  it('creates a node only from an image it has, on a network that exists', async () => {
    const engine = new FakeEngine({ images: [worker.image] });
    await expect(engine.createNode(worker)).rejects.toThrow('network kc-dev not found');
    await engine.createNetwork({ name: 'kc-dev', cluster: 'dev', subnet: '172.30.0.0/24', gateway: '172.30.0.1' });
    await expect(engine.createNode({ ...worker, image: 'missing:1' })).rejects.toThrow('No such image: missing:1');
    await engine.createNode(worker);
    expect(await engine.listNodes({ 'dev.kc.cluster': 'dev', 'dev.kc.role': 'worker' })).toHaveLength(1);
    expect(await engine.listVolumes({ 'dev.kc.cluster': 'dev' })).toEqual([{ name: 'dev-worker-0-containerd' }]);
  });
});
