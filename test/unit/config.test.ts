import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import yargs from 'yargs';
import { supportedVersions } from '../../src/artifacts/manifest.js';

// The CLI test below must prove nothing is created: createCluster is replaced by a spy.
const createClusterSpy = vi.hoisted(() => vi.fn());
vi.mock('../../src/cluster/create/create.js', () => ({ createCluster: createClusterSpy }));

import { createClusterCommand, specFromArgs, specFromFlags, type CreateClusterArgs } from '../../src/cli/create-cluster.js';
import { main } from '../../src/cli/main.js';
import { UsageError } from '../../src/cli/options.js';
import { DEFAULT_NODE_IMAGE, defaultClusterSpec, nodeExtrasFor } from '../../src/config/defaults.js';
import { loadClusterConfig, parseClusterConfig, type ClusterConfigFile } from '../../src/config/v1alpha1.js';
import { resolveClusterSpec } from '../../src/config/resolve.js';
import type { ClusterSpec } from '../../src/config/types.js';
import { ValidationError } from '../../src/config/validate.js';

const HEADER = 'apiVersion: kc.dev/v1alpha1\nkind: Cluster\n';

const FULL_EXAMPLE = `${HEADER}name: dev
nodeImage: kc/node:v1.37.2
networking:
  podSubnet: 10.200.0.0/16
  serviceSubnet: 10.100.0.0/16
  apiServerAddress: 127.0.0.2
  apiServerPort: 7443
  cni: weave
  kubeProxyMode: ipvs
featureGates: {InPlacePodVerticalScaling: true, SomeAlphaGate: false}
extraArgs:
  apiserver: {v: "2", audit-log-maxage: 7}
  kubelet: {max-pods: "50"}
nodes:
  - role: master
  - role: master
  - role: master
  - role: worker
    extraPortMappings: [{containerPort: 30080, hostPort: 8080, listenAddress: 127.0.0.1, protocol: TCP}]
    extraMounts: [{hostPath: /tmp/data, containerPath: /data, readOnly: true}]
  - role: worker
    extraPortMappings:
      - containerPort: 30053
        protocol: UDP
`;

function parse(text: string): ClusterConfigFile {
  return parseClusterConfig(text, 'dev.yaml');
}

/** The message of the error that parsing `text` throws (fails the test when none is thrown). */
function errorOf(text: string): string {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error(`expected an error for:\n${text}`);
}

describe('config file: good input', () => {
  it('parses the full example to the expected spec', () => {
    const config = parse(FULL_EXAMPLE);
    const expected: Partial<ClusterSpec> = {
      name: 'dev',
      nodeImage: 'kc/node:v1.37.2',
      podSubnet: '10.200.0.0/16',
      serviceSubnet: '10.100.0.0/16',
      apiServerAddress: '127.0.0.2',
      apiServerPort: 7443,
      cni: 'weave',
      kubeProxyMode: 'ipvs',
      featureGates: { InPlacePodVerticalScaling: true, SomeAlphaGate: false },
      // YAML numbers become the flag text they stand for.
      extraArgs: { apiserver: { v: '2', 'audit-log-maxage': '7' }, kubelet: { 'max-pods': '50' } },
      controlPlanes: 3,
      workers: 2,
      nodeExtras: {
        masters: [
          { extraPortMappings: [], extraMounts: [] },
          { extraPortMappings: [], extraMounts: [] },
          { extraPortMappings: [], extraMounts: [] },
        ],
        workers: [
          {
            extraPortMappings: [{ containerPort: 30080, hostPort: 8080, listenAddress: '127.0.0.1', protocol: 'TCP' }],
            extraMounts: [{ hostPath: '/tmp/data', containerPath: '/data', readOnly: true }],
          },
          // Left-out fields take kind's defaults: any host port, every address, TCP.
          { extraPortMappings: [{ containerPort: 30053, hostPort: 0, listenAddress: '0.0.0.0', protocol: 'UDP' }], extraMounts: [] },
        ],
      },
    };
    expect(config.source).toBe('dev.yaml');
    expect(config.spec).toEqual(expected);
    expect(config.fieldPaths).toMatchObject({ podSubnet: 'networking.podSubnet', workers: 'nodes', nodeImage: 'nodeImage' });
  });

  it('resolves the full example into a valid spec, keeping flag-only fields at their defaults', () => {
    const spec = resolveClusterSpec(parse(FULL_EXAMPLE), {});
    expect(spec).toMatchObject({ name: 'dev', controlPlanes: 3, workers: 2, cni: 'weave', retain: false, waitSeconds: 600 });
    expect(nodeExtrasFor(spec, 'worker', 0).extraMounts).toHaveLength(1);
  });

  it('enforces NetworkPolicy with kube-router by default on the bridge network, and not with weave or no network', () => {
    expect(resolveClusterSpec(parse(HEADER), {}).networkPolicy).toBe('kube-router');
    expect(resolveClusterSpec(parse(`${HEADER}networking: {cni: weave}\n`), {}).networkPolicy).toBe('none');
    expect(resolveClusterSpec(undefined, { cni: 'none' }).networkPolicy).toBe('none');
    expect(resolveClusterSpec(undefined, { cni: 'weave' }).networkPolicy).toBe('none');
  });

  it('reads networking.networkPolicy, and --network-policy overrides it', () => {
    const file = parse(`${HEADER}networking:\n  networkPolicy: none\n`);
    expect(file.spec).toEqual({ networkPolicy: 'none' });
    expect(file.fieldPaths.networkPolicy).toBe('networking.networkPolicy');
    expect(resolveClusterSpec(file, {}).networkPolicy).toBe('none');
    expect(resolveClusterSpec(file, { networkPolicy: 'kube-router' }).networkPolicy).toBe('kube-router');
    expect(resolveClusterSpec(parse(`${HEADER}networking: {cni: bridge, networkPolicy: kube-router}\n`), {}).networkPolicy).toBe('kube-router');
  });

  it('refuses kube-router beside Weave Net or without a pod network, naming where each value came from', () => {
    expect(() => resolveClusterSpec(parse(`${HEADER}networking: {cni: weave, networkPolicy: kube-router}\n`), {})).toThrow(
      'dev.yaml: networking.networkPolicy: "kube-router" is not valid; kube-router runs beside the bridge network only (dev.yaml: networking.cni is weave: Weave Net enforces policies itself (weave-npc)); use none, or leave it out',
    );
    expect(() => resolveClusterSpec(parse(`${HEADER}networking: {networkPolicy: kube-router}\n`), { cni: 'none' })).toThrow(
      /^dev\.yaml: networking\.networkPolicy: "kube-router" is not valid; kube-router runs beside the bridge network only \(--cni is none: with no pod network/,
    );
  });

  it('maps kubernetesVersion to the kc node image of that version', () => {
    const config = parse(`${HEADER}kubernetesVersion: v1.36.3\n`);
    expect(config.spec).toEqual({ kubernetesVersion: 'v1.36.3', nodeImage: 'kc/node:v1.36.3' });
    expect(config.fieldPaths.nodeImage).toBe('kubernetesVersion');
  });

  it('takes --kubernetes-version as the version and its image, and refuses it beside --image', () => {
    expect(specFromFlags({ 'kubernetes-version': 'v1.35.4' })).toMatchObject({ kubernetesVersion: 'v1.35.4', nodeImage: 'kc/node:v1.35.4' });
    expect(() => specFromFlags({ 'kubernetes-version': 'v1.35.4', image: 'kc/node:dev' })).toThrow(
      '--kubernetes-version v1.35.4 and --image kc/node:dev both name the node image: give one',
    );
    expect(() => resolveClusterSpec(undefined, specFromFlags({ 'kubernetes-version': 'v1.34.0' }))).toThrow(
      `--kubernetes-version: "v1.34.0" is not valid; use one of the versions kc builds node images for: ${supportedVersions()}`,
    );
  });

  it('takes counts from controlPlanes/workers and leaves everything else unset', () => {
    expect(parse(`${HEADER}controlPlanes: 3\nworkers: 4\n`).spec).toEqual({ controlPlanes: 3, workers: 4 });
    expect(parse(HEADER).spec).toEqual({});
  });

  it('fills every field nobody set with the defaults, including empty extras', () => {
    const spec = resolveClusterSpec(parse(HEADER), {});
    expect(spec).toEqual(defaultClusterSpec());
    expect(spec).toMatchObject({ kubeProxyMode: 'iptables', featureGates: {}, extraArgs: {}, nodeExtras: { masters: [], workers: [] } });
  });

  it('gives nodes without entries (and specs saved before nodeExtras existed) empty extras', () => {
    const spec = resolveClusterSpec(parse(FULL_EXAMPLE), { workers: 4 });
    expect(nodeExtrasFor(spec, 'worker', 3)).toEqual({ extraPortMappings: [], extraMounts: [] });
    expect(nodeExtrasFor(spec, 'lb', 0)).toEqual({ extraPortMappings: [], extraMounts: [] });
    const old = { ...defaultClusterSpec() } as Partial<ClusterSpec>;
    delete old.nodeExtras;
    expect(nodeExtrasFor(old as ClusterSpec, 'master', 0)).toEqual({ extraPortMappings: [], extraMounts: [] });
  });

  it('allows the same host port on different addresses or protocols', () => {
    const text = `${HEADER}nodes:
  - role: master
  - role: worker
    extraPortMappings:
      - {containerPort: 80, hostPort: 8080, listenAddress: 127.0.0.1}
      - {containerPort: 81, hostPort: 8080, listenAddress: 127.0.0.2}
      - {containerPort: 82, hostPort: 8080, listenAddress: 127.0.0.1, protocol: UDP}
      - {containerPort: 83}
      - {containerPort: 84}
`;
    expect(parse(text).spec.nodeExtras?.workers[0]?.extraPortMappings).toHaveLength(5);
  });
});

describe('config file: precedence (defaults < file < flags)', () => {
  const file = `${HEADER}name: fromfile
controlPlanes: 3
workers: 3
kubernetesVersion: v1.36.3
networking: {cni: none, apiServerPort: 7443}
`;

  it('lets explicit flags override the file and the file override defaults', () => {
    const spec = resolveClusterSpec(parse(file), { workers: 5, nodeImage: 'kc/node:dev', name: undefined });
    expect(spec).toMatchObject({
      name: 'fromfile',
      controlPlanes: 3,
      workers: 5,
      nodeImage: 'kc/node:dev',
      cni: 'none',
      apiServerPort: 7443,
      podSubnet: '10.244.0.0/16',
    });
  });

  it('does not turn flags the user left out into overrides (no yargs defaults)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kc-config-'));
    try {
      const path = join(dir, 'dev.yaml');
      await writeFile(path, file);
      let parsed: CreateClusterArgs | undefined;
      await yargs(['cluster', '--config', path, '--workers', '4'])
        .command({ ...createClusterCommand, handler: (args) => void (parsed = args) })
        .parseAsync();
      expect(parsed).toBeDefined();
      const { spec } = await specFromArgs(parsed as CreateClusterArgs);
      expect(spec).toMatchObject({ name: 'fromfile', controlPlanes: 3, workers: 4, cni: 'none', nodeImage: 'kc/node:v1.36.3', retain: false });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('still shows the defaults in --help', async () => {
    const help = await yargs(['cluster']).command(createClusterCommand).wrap(null).getHelp();
    expect(help).toContain('--config');
    expect(help).toMatch(/--control-planes[^\n]*\[default: 2\]/);
    expect(help).toMatch(/--image[^\n]*\[default: kc\/node:v1\.37\.2\]/);
  });

  it('uses the defaults when neither file nor flags set a field', async () => {
    const { spec, notes } = await specFromArgs({});
    expect(notes).toEqual([]);
    expect(spec).toEqual(defaultClusterSpec());
    expect(spec.nodeImage).toBe(DEFAULT_NODE_IMAGE);
  });

  it('blames a cross-field problem on where each value came from', () => {
    const overlapping = parse(`${HEADER}networking: {podSubnet: 10.96.0.0/16}\n`);
    expect(() => resolveClusterSpec(overlapping, {})).toThrow(
      '--service-subnet: "10.96.0.0/16" is not valid; it must not overlap the pod subnet 10.96.0.0/16 (dev.yaml: networking.podSubnet)',
    );
    expect(() => resolveClusterSpec(parse(`${HEADER}networking: {serviceSubnet: 10.244.0.0/20}\n`), {})).toThrow(
      'dev.yaml: networking.serviceSubnet: "10.244.0.0/20" is not valid; it must not overlap the pod subnet 10.244.0.0/16 (--pod-subnet)',
    );
    expect(() => resolveClusterSpec(parse(`${HEADER}networking: {serviceSubnet: 10.100.0.0/16}\n`), { serviceSubnet: '10.244.0.0/20' })).toThrow(
      /^--service-subnet: "10\.244\.0\.0\/20" is not valid; it must not overlap/,
    );
  });

  it('refuses a --workers/--control-planes flag that would drop nodes with extras', () => {
    const config = parse(FULL_EXAMPLE);
    expect(() => resolveClusterSpec(config, { workers: 1 })).toThrow(
      '--workers: 1 is not valid; worker 1 has extraPortMappings or extraMounts in dev.yaml: nodes: ask for at least 2',
    );
    // Masters have no extras here: fewer masters than listed is fine.
    expect(resolveClusterSpec(config, { controlPlanes: 1 }).controlPlanes).toBe(1);
  });

  it('refuses an API server port that a port mapping already publishes', () => {
    const config = parse(`${HEADER}nodes:\n  - role: master\n  - role: worker\n    extraPortMappings: [{containerPort: 30080, hostPort: 7443}]\n`);
    expect(() => resolveClusterSpec(config, { apiServerPort: 7443 })).toThrow(
      /^--api-port: 7443 is not valid; an extraPortMappings entry in dev\.yaml: nodes already uses host port 7443/,
    );
  });
});

/** [what is wrong, file text, parts the message must contain: location, field path, bad value, what is allowed]. */
const BAD_INPUTS: [string, string, string[]][] = [
  ['empty file', '', ['dev.yaml: document is empty', 'apiVersion: kc.dev/v1alpha1 and kind: Cluster']],
  ['not a mapping', '- a\n- b\n', ['dev.yaml:1: document: ["a","b"] is not valid', 'use a mapping with keys apiVersion, kind,']],
  ['invalid YAML', `${HEADER}workers: [2\ncni: x\n`, ['dev.yaml:4:1: YAML is not valid', 'Flow sequence', 'workers: [2']],
  ['duplicate key', `${HEADER}workers: 2\nworkers: 3\n`, ['dev.yaml:4:1: YAML is not valid; Map keys must be unique']],
  ['missing apiVersion', 'kind: Cluster\n', ['apiVersion is missing; use apiVersion: kc.dev/v1alpha1']],
  ['kind apiVersion', 'apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\n', ['dev.yaml:1: apiVersion: "kind.x-k8s.io/v1alpha4" is not valid; use apiVersion: kc.dev/v1alpha1']],
  ['wrong kind', 'apiVersion: kc.dev/v1alpha1\nkind: Config\n', ['dev.yaml:2: kind: "Config" is not valid; use kind: Cluster']],
  ['unknown top-level key', `${HEADER}wokers: 2\n`, ['dev.yaml:3: wokers is not a known key', 'use one of apiVersion, kind, name, controlPlanes, workers,', '(did you mean workers?)']],
  ['unknown nested key', `${HEADER}networking:\n  cni: weave\n  podCidr: 10.0.0.0/16\n`, ['dev.yaml:5: networking.podCidr is not a known key', 'use one of podSubnet, serviceSubnet, apiServerAddress, apiServerPort, cni, networkPolicy, kubeProxyMode']],
  ['unknown key in a node', `${HEADER}nodes:\n  - role: master\n  - role: worker\n    image: x\n`, ['dev.yaml:6: nodes[1].image is not a known key', 'use one of role, engine, extraPortMappings, extraMounts']],
  ['count of the wrong type', `${HEADER}workers: "2"\n`, ['dev.yaml:3: workers: "2" is not valid', 'use a whole number from 1 to']],
  ['zero control planes', `${HEADER}controlPlanes: 0\n`, ['controlPlanes: 0 is not valid; use a whole number from 1 to', 'etcd quorum']],
  ['bad cni', `${HEADER}networking:\n  cni: calico\n`, ['dev.yaml:4: networking.cni: "calico" is not valid; use one of weave, bridge, none']],
  ['bad network policy', `${HEADER}networking:\n  networkPolicy: calico\n`, ['dev.yaml:4: networking.networkPolicy: "calico" is not valid; use one of kube-router, none']],
  ['bad kube-proxy mode', `${HEADER}networking:\n  kubeProxyMode: userspace\n`, ['networking.kubeProxyMode: "userspace" is not valid; use one of iptables, ipvs, nftables']],
  ['bad API address', `${HEADER}networking: {apiServerAddress: localhost}\n`, ['networking.apiServerAddress: "localhost" is not valid; use an IPv4 address']],
  ['pod subnet too small', `${HEADER}networking: {podSubnet: 10.244.0.0/24}\n`, ['networking.podSubnet: "10.244.0.0/24" is not valid; use a prefix length from /8 to /16']],
  ['networking not a mapping', `${HEADER}networking: [cni]\n`, ['networking: ["cni"] is not valid; use a mapping with keys podSubnet,']],
  ['bad cluster name', `${HEADER}name: My_Cluster\n`, ['dev.yaml:3: name: "My_Cluster" is not valid; use lower-case letters']],
  [
    'host port out of range',
    `${HEADER}nodes:\n  - role: master\n  - role: worker\n    extraPortMappings:\n      - containerPort: 80\n        hostPort: 70000\n`,
    ['dev.yaml:8: nodes[1].extraPortMappings[0].hostPort: 70000 is not valid; use a whole number from 0 to 65535'],
  ],
  [
    'container port missing',
    `${HEADER}nodes:\n  - role: master\n  - role: worker\n    extraPortMappings: [{hostPort: 8080}]\n`,
    ['nodes[1].extraPortMappings[0].containerPort is missing; use a whole number from 1 to 65535'],
  ],
  [
    'bad protocol',
    `${HEADER}nodes:\n  - role: master\n  - role: worker\n    extraPortMappings: [{containerPort: 53, protocol: udp}]\n`,
    ['nodes[1].extraPortMappings[0].protocol: "udp" is not valid; use one of TCP, UDP, SCTP'],
  ],
  [
    'duplicate host port',
    `${HEADER}nodes:\n  - role: master\n    extraPortMappings: [{containerPort: 80, hostPort: 8080}]\n  - role: worker\n    extraPortMappings: [{containerPort: 81, hostPort: 8080, listenAddress: 127.0.0.1}]\n`,
    ['dev.yaml:7: nodes[1].extraPortMappings[0].hostPort: 8080 is not valid', 'nodes[0].extraPortMappings[0] already publishes host port 8080/TCP on 0.0.0.0', 'give each mapping its own host port'],
  ],
  [
    'relative host path',
    `${HEADER}nodes:\n  - role: master\n  - role: worker\n    extraMounts: [{hostPath: ./data, containerPath: /data}]\n`,
    ['dev.yaml:6: nodes[1].extraMounts[0].hostPath: "./data" is not valid; use an absolute path'],
  ],
  [
    'readOnly not a boolean',
    `${HEADER}nodes:\n  - role: master\n  - role: worker\n    extraMounts: [{hostPath: /a, containerPath: /b, readOnly: "yes"}]\n`,
    ['nodes[1].extraMounts[0].readOnly: "yes" is not valid; use true or false'],
  ],
  ['nodes without a worker', `${HEADER}nodes:\n  - role: master\n  - role: master\n`, ['dev.yaml:3: nodes: ["master","master"] is not valid; list at least one node with role: worker']],
  ['nodes without a master', `${HEADER}nodes:\n  - role: worker\n`, ['nodes: ["worker"] is not valid; list at least one node with role: master']],
  ['bad node role', `${HEADER}nodes:\n  - role: control-plane\n  - role: worker\n`, ['dev.yaml:4: nodes[0].role: "control-plane" is not valid; use one of master, worker']],
  ['node role missing', `${HEADER}nodes:\n  - {}\n`, ['nodes[0].role is missing; use one of master, worker']],
  ['nodes not a list', `${HEADER}nodes: {role: worker}\n`, ['nodes: {"role":"worker"} is not valid; use a list such as']],
  ['both controlPlanes and nodes', `${HEADER}controlPlanes: 3\nnodes:\n  - role: master\n  - role: worker\n`, ['dev.yaml:3: controlPlanes: 3 is not valid; a nodes list is also given: use either controlPlanes/workers or nodes, not both']],
  ['both workers and nodes', `${HEADER}nodes:\n  - role: master\n  - role: worker\nworkers: 1\n`, ['dev.yaml:6: workers: 1 is not valid; a nodes list is also given']],
  ['both nodeImage and kubernetesVersion', `${HEADER}nodeImage: kc/node:dev\nkubernetesVersion: v1.37.2\n`, ['dev.yaml:4: kubernetesVersion: "v1.37.2" is not valid; nodeImage is also given: use one or the other']],
  ['bad kubernetesVersion', `${HEADER}kubernetesVersion: 1.37.2\n`, ['dev.yaml:3: kubernetesVersion: "1.37.2" is not valid; use one of the versions kc builds node images for: v1.37.2, v1.36.3, v1.35.4']],
  ['unsupported kubernetesVersion', `${HEADER}kubernetesVersion: v1.34.4\n`, ['dev.yaml:3: kubernetesVersion: "v1.34.4" is not valid; use one of the versions']],
  ['bad node image', `${HEADER}nodeImage: "KC/Node"\n`, ['nodeImage: "KC/Node" is not valid; use an image reference such as kc/node:v1.37.2']],
  ['feature gate not a boolean', `${HEADER}featureGates:\n  SomeGate: "true"\n`, ['dev.yaml:4: featureGates.SomeGate: "true" is not valid; use true or false']],
  ['feature gate name', `${HEADER}featureGates: {some-gate: true}\n`, ['featureGates.some-gate is not a feature gate name', 'as Kubernetes spells it']],
  ['unknown component', `${HEADER}extraArgs:\n  kubeApiserver: {v: "2"}\n`, ['dev.yaml:4: extraArgs.kubeApiserver is not a known key; use one of apiserver, controllerManager, scheduler, kubelet, kubeProxy, etcd']],
  ['flag with dashes', `${HEADER}extraArgs:\n  kubelet:\n    --v: "2"\n`, ['dev.yaml:5: extraArgs.kubelet.--v is not a flag name; write the flag name without leading dashes']],
  ['flag value a list', `${HEADER}extraArgs:\n  etcd: {quota-backend-bytes: [1]}\n`, ['extraArgs.etcd.quota-backend-bytes: [1] is not valid; use a string, number or boolean']],
  ['feature-gates flag', `${HEADER}extraArgs:\n  apiserver: {feature-gates: "A=true"}\n`, ['extraArgs.apiserver.feature-gates: "A=true" is not valid; set feature gates with the top-level featureGates map']],
];

describe('config file: bad input', () => {
  it.each(BAD_INPUTS)('%s', (_, text, parts) => {
    const message = errorOf(text);
    for (const part of parts) expect(message).toContain(part);
  });

  it('names a missing file after --config', async () => {
    await expect(loadClusterConfig('/nonexistent/kc.yaml')).rejects.toThrow('--config: "/nonexistent/kc.yaml" is not valid; no such file');
  });
});

describe('kc create cluster --config with a bad file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    process.exitCode = undefined;
    vi.restoreAllMocks();
  });

  it('is a usage error (exit 2) naming the field, and creates nothing', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, `${HEADER}networking:\n  cni: calico\n`);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await main(['create', 'cluster', '--config', path]);
    expect(process.exitCode).toBe(2);
    expect(stderr).toHaveBeenCalledWith(`ERROR: ${path}:4: networking.cni: "calico" is not valid; use one of weave, bridge, none\n`);
    expect(createClusterSpy).not.toHaveBeenCalled();
  });

  it('maps every ValidationError to a UsageError', async () => {
    await expect(specFromArgs({ config: join(dir, 'missing.yaml') })).rejects.toBeInstanceOf(UsageError);
    await expect(specFromArgs({ workers: 0 })).rejects.toThrow('--workers: 0 is not valid; use a whole number from 1');
  });
});
