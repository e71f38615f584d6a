import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { WEAVE_IMAGES, WEAVE_VERSION } from '../../src/artifacts/manifest.js';
import { checkWeaveKernel, ensureWeaveImages, weaveImagesPresent } from '../../src/cluster/create/weave.js';
import type { CreateInput } from '../../src/cluster/create/context.js';
import { createCluster, CreateStepError } from '../../src/cluster/create/create.js';
import { planCluster } from '../../src/model/plan.js';
import {
  parseIptablesBackend,
  weaveDatapath,
  weaveImagesProblem,
  weaveKernelProblem,
  weaveManifest,
  type WeaveOptions,
} from '../../src/components/weave.js';
import { defaultClusterSpec, DEFAULT_NODE_IMAGE } from '../../src/config/defaults.js';
import type { CniMode } from '../../src/config/types.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { apiGet } from '../../src/cluster/kube/api.js';
import { generateClusterPki } from '../../src/pki/cluster-pki.js';
import { silentProgress } from '../../src/util/progress.js';

// Non-default ranges and image names, so that a renderer using a default instead of its inputs shows.
const spec = (cni: CniMode = 'weave') =>
  defaultClusterSpec({ name: 'demo', controlPlanes: 2, workers: 3, podSubnet: '10.200.0.0/16', serviceSubnet: '10.32.0.0/16', cni });
const plan = planCluster(spec(), '172.30.7.0/24');
const OPTIONS: WeaveOptions = { iptablesBackend: 'nft', images: { kube: 'example/weave-kube:9.9.9', npc: 'example/weave-npc:9.9.9' } };

interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
interface Mount { name: string; mountPath: string; readOnly?: boolean }
interface Container {
  name: string;
  image: string;
  imagePullPolicy: string;
  command?: string[];
  env?: EnvVar[];
  securityContext?: { privileged?: boolean };
  volumeMounts?: Mount[];
  readinessProbe?: { httpGet: { host: string; path: string; port: number } };
}
interface PodSpec {
  hostNetwork: boolean;
  hostPID: boolean;
  serviceAccountName: string;
  tolerations: { key?: string; operator: string; effect?: string }[];
  initContainers: Container[];
  containers: Container[];
  volumes: { name: string; hostPath: { path: string; type?: string } }[];
}
interface Doc { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: unknown; rules?: unknown[]; roleRef?: { kind: string; name: string } }

const documents = (text = weaveManifest(plan, OPTIONS)): Doc[] =>
  parseAllDocuments(text).map((doc) => {
    expect(doc.errors).toEqual([]);
    return doc.toJS() as Doc;
  });
const daemonSet = (text?: string) => {
  const ds = documents(text).find((d) => d.kind === 'DaemonSet');
  if (!ds) throw new Error('no DaemonSet');
  return ds as Doc & { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };
};
const podSpec = (text?: string) => daemonSet(text).spec.template.spec;
const container = (name: string, text?: string): Container => {
  const pod = podSpec(text);
  const found = [...pod.initContainers, ...pod.containers].find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
};
const env = (c: Container, name: string) => c.env?.find((e) => e.name === name);
/** The host path a container sees at mountPath. */
const hostPathAt = (c: Container, mountPath: string): string | undefined => {
  const mount = c.volumeMounts?.find((m) => m.mountPath === mountPath);
  return podSpec().volumes.find((v) => v.name === mount?.name)?.hostPath.path;
};

describe('weaveManifest', () => {
  it('is YAML documents: ServiceAccount, RBAC for the API and the weave-net ConfigMap, and the DaemonSet in kube-system', () => {
    const docs = documents();
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'DaemonSet']);
    for (const doc of docs) expect(doc.metadata.name).toBe('weave-net');
    for (const doc of docs.filter((d) => !d.kind.startsWith('Cluster'))) expect(doc.metadata.namespace).toBe('kube-system');
    const role = docs.find((d) => d.kind === 'Role');
    expect(role?.rules).toContainEqual({ apiGroups: [''], resources: ['configmaps'], resourceNames: ['weave-net'], verbs: ['get', 'update'] });
    expect(docs.find((d) => d.kind === 'RoleBinding')?.roleRef).toMatchObject({ kind: 'Role', name: 'weave-net' });
    expect(docs.find((d) => d.kind === 'ClusterRoleBinding')?.roleRef).toMatchObject({ kind: 'ClusterRole', name: 'weave-net' });
    const ds = daemonSet();
    expect(ds.apiVersion).toBe('apps/v1');
    expect(ds.spec.template.metadata.labels).toEqual(ds.spec.selector.matchLabels);
  });

  it('allocates pod addresses from the cluster pod range and uses the node iptables backend', () => {
    const weave = container('weave');
    expect(env(weave, 'IPALLOC_RANGE')?.value).toBe('10.200.0.0/16');
    for (const name of ['weave-init', 'weave', 'weave-npc']) expect(env(container(name), 'IPTABLES_BACKEND')?.value, name).toBe('nft');
    const legacy = weaveManifest(plan, { ...OPTIONS, iptablesBackend: 'legacy' });
    expect(env(container('weave', legacy), 'IPTABLES_BACKEND')?.value).toBe('legacy');
    expect(env(container('weave-npc', legacy), 'IPTABLES_BACKEND')?.value).toBe('legacy');
  });

  it('runs weave and weave-npc after the weave-init container, with the images given, never pulling when present', () => {
    const pod = podSpec();
    expect(pod.initContainers.map((c) => c.name)).toEqual(['weave-init']);
    expect(pod.containers.map((c) => c.name)).toEqual(['weave', 'weave-npc']);
    expect(container('weave-init').image).toBe(OPTIONS.images.kube);
    expect(container('weave').image).toBe(OPTIONS.images.kube);
    expect(container('weave-npc').image).toBe(OPTIONS.images.npc);
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.imagePullPolicy, c.name).toBe('IfNotPresent');
      expect(c.securityContext?.privileged, c.name).toBe(true);
      expect(hostPathAt(c, '/run/xtables.lock'), c.name).toBe('/run/xtables.lock');
    }
    expect(container('weave-init').command).toEqual(['/home/weave/init.sh']);
    expect(container('weave').command).toEqual(['/home/weave/launch.sh']);
    expect(env(container('weave'), 'INIT_CONTAINER')?.value).toBe('true');
    for (const name of ['weave', 'weave-npc']) expect(env(container(name), 'HOSTNAME')?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
    expect(container('weave').readinessProbe?.httpGet).toEqual({ host: '127.0.0.1', path: '/status', port: 6784 });
  });

  it('installs the CNI plugin into the node CNI folders and keeps its state on the node', () => {
    const init = container('weave-init');
    expect(hostPathAt(init, '/host/opt/cni/bin')).toBe('/opt/cni/bin');
    expect(hostPathAt(init, '/host/etc/cni/net.d')).toBe('/etc/cni/net.d');
    expect(hostPathAt(init, '/lib/modules')).toBe('/lib/modules');
    expect(hostPathAt(container('weave'), '/weavedb')).toBe('/var/lib/weave');
    expect(hostPathAt(container('weave'), '/host/etc/machine-id')).toBe('/etc/machine-id');
    const lock = podSpec().volumes.find((v) => v.hostPath.path === '/run/xtables.lock');
    expect(lock?.hostPath.type).toBe('FileOrCreate');
  });

  it('runs on the host network of every node, whatever its taints', () => {
    const pod = podSpec();
    expect(pod.hostNetwork).toBe(true);
    expect(pod.hostPID).toBe(false);
    expect(pod.serviceAccountName).toBe('weave-net');
    // An `Exists` toleration without key or effect tolerates every taint.
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    for (const t of pod.tolerations) if (!t.key && !t.effect) expect(t.operator).toBe('Exists');
  });

  it('writes plain YAML without anchors or aliases', () => {
    expect(weaveManifest(plan, OPTIONS)).not.toMatch(/[&*]a\d+\b/);
  });

  it('is deterministic, and depends on its inputs', () => {
    expect(weaveManifest(plan, OPTIONS)).toBe(weaveManifest(planCluster(spec(), '172.30.7.0/24'), { ...OPTIONS, images: { ...OPTIONS.images } }));
    const otherRange = planCluster(defaultClusterSpec({ ...spec(), podSubnet: '10.100.0.0/16' }), '172.30.7.0/24');
    expect(env(container('weave', weaveManifest(otherRange, OPTIONS)), 'IPALLOC_RANGE')?.value).toBe('10.100.0.0/16');
  });

  it('pins the fork images at one version', () => {
    expect(WEAVE_IMAGES.kube).toBe(`rajchaudhuri/weave-kube:${WEAVE_VERSION}`);
    expect(WEAVE_IMAGES.npc).toBe(`rajchaudhuri/weave-npc:${WEAVE_VERSION}`);
  });
});

describe('parseIptablesBackend', () => {
  it('reads what kc-entrypoint wrote, and rejects anything else', () => {
    expect(parseIptablesBackend('legacy\n')).toBe('legacy');
    expect(parseIptablesBackend('nft\n')).toBe('nft');
    expect(() => parseIptablesBackend('')).toThrow(/expected legacy or nft/);
  });
});

describe('weaveDatapath', () => {
  const line = (state: string, info: string) => `-> 172.30.7.101:6783     ${state.padEnd(11)} ${info} 9a:bc:de:f0:12:34(demo-worker-1) mtu=1376`;
  it('says fastdp, sleeve or both for established connections, and ignores the others', () => {
    expect(weaveDatapath(`${line('established', 'fastdp')}\n${line('established', 'fastdp')}\n`)).toEqual({ established: 2, summary: 'fastdp (2 connections)' });
    expect(weaveDatapath(`${line('established', 'sleeve')}\n${line('pending', 'fastdp')}\n`)).toMatchObject({ established: 1, summary: expect.stringMatching(/^sleeve \(1 connection;/) });
    expect(weaveDatapath(`${line('established', 'sleeve')}\n${line('established', 'fastdp')}`).summary).toBe('mixed: fastdp 1, sleeve 1 of 2 connections');
    expect(weaveDatapath('-> 172.30.7.100:6783     failed      cannot connect to ourself, retry: never\n')).toEqual({ established: 0, summary: 'no established peer connections' });
    expect(weaveDatapath('')).toMatchObject({ established: 0 });
  });
});

// ---- failing fast when the images cannot be had ----

const [KUBE, NPC] = [WEAVE_IMAGES.kube, WEAVE_IMAGES.npc];

describe('weaveImagesProblem', () => {
  it('is nothing when every image is present', () => {
    expect(weaveImagesProblem({ [KUBE]: true, [NPC]: true })).toBeUndefined();
  });

  it('names the images, says no registry answered and that kc has no source build, and gives both fixes', () => {
    const message = weaveImagesProblem({ [KUBE]: false, [NPC]: false }) ?? '';
    expect(message).toContain(`needs the images ${KUBE} and ${NPC}, which are not in the local Docker and could not be pulled`);
    expect(message).toContain('no registry answered');
    expect(message).toContain('does not serve github.com/rajch/weave');
    expect(message).toContain('--cni bridge');
    expect(message).toContain('docker load -i weave.tar');
    expect(message).toContain(`docker save -o weave.tar ${KUBE} ${NPC}`);
  });

  it('names only the missing one as missing', () => {
    const message = weaveImagesProblem({ [KUBE]: true, [NPC]: false }) ?? '';
    expect(message).toContain(`needs the images ${KUBE} and ${NPC}; ${NPC} is not in the local Docker`);
  });
});

/** An engine that has only some images, and whose registry serves only `pullable`. */
function fakeEngine(local: string[], pullable: string[] = []) {
  const engine = new FakeEngine({ images: local, pullable });
  return { engine, calls: engine.calls };
}

describe('weaveKernelProblem', () => {
  it('is nothing when the probe created its dummy interface', () => {
    expect(weaveKernelProblem(0, '')).toBeUndefined();
  });

  it('names the missing kernel feature, what the probe said, and both fixes', () => {
    const problem = weaveKernelProblem(2, 'Error: Unknown device type.\n') ?? '';
    expect(problem).toContain('cannot create a dummy network interface');
    expect(problem).toContain('ip link add kcprobe0 type dummy');
    expect(problem).toContain('Error: Unknown device type.');
    expect(problem).toContain('CONFIG_DUMMY');
    expect(problem).toContain('--cni bridge');
    expect(problem).toContain('kube-router');
    expect(weaveKernelProblem(1, '')).toContain('exit code 1');
  });
});

describe('ensureWeaveImages', () => {
  const baseFor = (engine: FakeEngine, cni: CniMode = 'weave'): CreateInput => ({
    engine,
    registries: engine,
    span: undefined,
    progress: silentProgress,
    spec: spec(cni),
    kubeconfigPath: '/nonexistent/kubeconfig',
    apiProbe: apiGet,
    generatePki: generateClusterPki,
    buildNodeImage: () => Promise.reject(new Error('no node image build in this test')),
    ensureRegistryImage: () => Promise.reject(new Error('no registry image in this test')),
    portIsFree: async () => true,
  });

  it('checks the kernel only for --cni weave, first after the node image, and creates nothing when it cannot run Weave', async () => {
    const { engine, calls } = fakeEngine([DEFAULT_NODE_IMAGE, KUBE, NPC]);
    engine.onRunOnce = () => ({ exitCode: 1, stdout: '', stderr: 'RTNETLINK answers: Operation not supported' });
    const failure = createCluster({ engine, registries: engine, progress: silentProgress, spec: spec('weave'), kubeconfigPath: '/nonexistent/kubeconfig' });
    await expect(failure).rejects.toThrow(/failed at "Checking the kernel for Weave Net": --cni weave cannot work on this Docker engine's kernel/);
    expect(engine.isEmpty()).toBe(true);
    expect(calls).toEqual(['listNodes', 'listNetworks', 'ensureReachable', `imageLabels ${DEFAULT_NODE_IMAGE}`, `shareImage ${DEFAULT_NODE_IMAGE}`, `runOnce ${DEFAULT_NODE_IMAGE}`]);
    const notes: string[] = [];
    await checkWeaveKernel.run(baseFor(fakeEngine([DEFAULT_NODE_IMAGE]).engine), (n) => notes.push(n));
    expect(notes).toEqual(['dummy interfaces supported']);
  });

  it('pulls only what is missing, and passes when the pull works', async () => {
    const { engine, calls } = fakeEngine([KUBE], [NPC]);
    expect(await weaveImagesPresent(engine)).toEqual({ present: { [KUBE]: true, [NPC]: true }, pulled: [NPC] });
    expect(calls).toEqual([`imageLabels ${KUBE}`, `imageLabels ${NPC}`, `tryPull ${NPC}`]);
    const notes: string[] = [];
    // On an engine that has not pulled yet (the one above now has both images).
    await ensureWeaveImages.run(baseFor(fakeEngine([KUBE], [NPC]).engine), (n) => notes.push(n));
    expect(notes.at(-1)).toBe(`${WEAVE_VERSION}, pulled ${NPC}`);
  });

  it('makes create fail at its step, before the network, creating and deleting nothing, when no registry answers', async () => {
    const { engine, calls } = fakeEngine([DEFAULT_NODE_IMAGE]);
    const failure = createCluster({ engine, registries: engine, progress: silentProgress, spec: spec('weave'), kubeconfigPath: '/nonexistent/kubeconfig' });
    await expect(failure).rejects.toBeInstanceOf(CreateStepError);
    await expect(failure).rejects.toThrow(/failed at "Ensuring Weave Net images": --cni weave needs the images/);
    await expect(failure).rejects.toThrow(/Nothing was created\.$/);
    await expect(failure).rejects.not.toThrow(/Everything created so far was removed/);
    expect(engine.isEmpty()).toBe(true);
    // Only looked (is the name taken? the node image?) and tried to pull: no network, no cleanup.
    expect(calls).toEqual([
      'listNodes', 'listNetworks', 'ensureReachable', `imageLabels ${DEFAULT_NODE_IMAGE}`, `shareImage ${DEFAULT_NODE_IMAGE}`, `runOnce ${DEFAULT_NODE_IMAGE}`,
      `imageLabels ${KUBE}`, `tryPull ${KUBE}`, `imageLabels ${NPC}`, `tryPull ${NPC}`,
    ]);
  });
});
