/**
 * Every version kc ships, in one place. Bumping a component means changing
 * its line here (and its checksum), nothing else.
 *
 * Each binary artifact has two sources:
 *  - `release`: the project's official download, checked against a sha256
 *    (pinned here, or published by the project beside the file);
 *  - `source`: a build from its Go module with the local Go toolchain,
 *    stamped with the same version, for machines that cannot reach the
 *    release sites.
 */

import type { MultiCall } from './multicall.js';

/**
 * What one Kubernetes release runs with: the etcd, CoreDNS and pause versions
 * its kubeadm pins (cmd/kubeadm/app/constants/constants.go of that tag:
 * DefaultEtcdVersion, CoreDNSVersion, PauseVersion). The node runtime
 * (containerd, runc, CNI plugins, crictl) and kube-router are the same for
 * every release: Kubernetes pins none of them, and these support all three.
 */
export interface KubernetesRelease {
  kubernetes: string;
  etcd: string;
  coredns: string;
  pause: string;
  /** Where kc departs from kubeadm's pin, and why. */
  departures?: string;
}

/** The releases kc builds node images for, newest first: the three newest minors the Go module proxy serves. */
export const KUBERNETES_RELEASES: readonly KubernetesRelease[] = [
  {
    kubernetes: 'v1.37.2',
    etcd: 'v3.7.3',
    coredns: 'v1.14.6',
    pause: '3.10.2',
    departures: 'etcd v3.7.3, not kubeadm\'s 3.7.0: the same minor with three patch releases of fixes',
  },
  { kubernetes: 'v1.36.3', etcd: 'v3.6.8', coredns: 'v1.14.2', pause: '3.10.2' },
  { kubernetes: 'v1.35.4', etcd: 'v3.6.6', coredns: 'v1.13.1', pause: '3.10.1' },
];

/** The release a cluster runs unless told otherwise: the newest. */
export const DEFAULT_RELEASE: KubernetesRelease = KUBERNETES_RELEASES[0] as KubernetesRelease;

/** The release of a Kubernetes version, or undefined when kc has no node image for it. */
export function releaseOf(version: string): KubernetesRelease | undefined {
  return KUBERNETES_RELEASES.find((r) => r.kubernetes === version);
}

/** The release of a version kc already accepted (a config, a cluster's state): unknown means a newer kc made it. */
export function requireRelease(version: string): KubernetesRelease {
  const release = releaseOf(version);
  if (!release) throw new Error(`Kubernetes ${version} is not one this kc knows (it knows ${supportedVersions()}): use the kc that made this cluster`);
  return release;
}

/** The supported versions, for messages: "v1.37.2, v1.36.3, v1.35.4". */
export function supportedVersions(): string {
  return KUBERNETES_RELEASES.map((r) => r.kubernetes).join(', ');
}

export const KUBERNETES_VERSION = DEFAULT_RELEASE.kubernetes;
export const CONTAINERD_VERSION = 'v2.2.9';
export const RUNC_VERSION = 'v1.4.3';
export const CNI_PLUGINS_VERSION = 'v1.9.1';
export const CRICTL_VERSION = 'v1.37.0';
/** The only version of kube-router/v2 the Go module proxy serves here; see KUBE_ROUTER_RAISED_DEPENDENCIES. */
export const KUBE_ROUTER_VERSION = 'v2.1.0';

export const ARCH = 'amd64';

/**
 * How to check a download: a digest pinned here, the checksum file the
 * project publishes beside it, or (for a project that publishes neither) the
 * sha256 GitHub itself records for the release asset.
 */
export type Checksum = { sha256: string } | { sha256Url: string } | { githubRelease: { repository: string; tag: string } };

export interface ReleaseSource {
  url: string;
  checksum: Checksum;
  /** For archives: the paths inside to extract, mapped to the binary name kc installs. */
  extract?: Record<string, string>;
}

export interface GoBuild {
  kind: 'go';
  /** Modules to require, by path, at their versions. */
  modules: Record<string, string>;
  /** Packages to build (full import paths), mapped to the binary each becomes. */
  packages: Record<string, string>;
  /**
   * Dependencies raised above what the built module's go.mod asks for: Go's
   * minimal version selection picks the higher version, so a source build
   * gets their security fixes without patching the module.
   */
  raisedDependencies?: Record<string, string>;
  /**
   * A module whose go.mod replaces dependencies with forks (`X => Y vN`), as
   * Traefik's does: Go applies a module's replaces only when it is the main
   * module, so the build module repeats them (read from that go.mod); without
   * them the build gets the originals, which lack what the module calls.
   */
  forkReplacesOf?: string;
  /** Test packages compiled into a test binary (`go test -c`), mapped to the binary each becomes. */
  testPackages?: Record<string, string>;
  /** -X flags that stamp the version into the binary. */
  versionVars?: Record<string, string>;
  /**
   * Modules whose go.mod replaces siblings with local directories that the
   * module proxy does not ship (k8s.io/kubernetes's `./staging/...`): each such
   * replace is pointed at the same module path at this version instead.
   */
  localReplacesAt?: { module: string; version: string };
  cgo?: boolean;
  tags?: string[];
  /** Link the binaries into one (see multicall.ts) instead of building `packages` one by one. */
  multiCall?: MultiCall;
  /**
   * A main package kc ships (a folder of kc's installation holding its .go
   * files), built in the build module against the modules above, into `binary`.
   */
  localMain?: { folder: string; binary: string; sha256: string };
}

export interface CBuild {
  kind: 'c';
  /** A Go module whose tree holds the C source (so it comes through the module proxy). */
  module: string;
  version: string;
  /** Source file inside the module, and the binary it becomes. */
  file: string;
  binary: string;
  defines?: Record<string, string>;
}

export interface Artifact {
  name: string;
  version: string;
  /** Binaries this artifact provides, installed into the node image's /usr/local/bin (or `installDir`). */
  binaries: string[];
  installDir?: string;
  /** One release download per binary (or one archive for all). */
  release: ReleaseSource[];
  source: GoBuild | CBuild;
  /**
   * About how long a source build takes with an empty Go build cache, in
   * minutes, measured on 2 cores (a cold .ci/run, December 2026) (in manifest order: later builds reuse what
   * earlier ones compiled). Shown up front, so a first run says what it is in for.
   */
  sourceBuildMinutes: number;
}

const k8sRelease = (version: string, binary: string): ReleaseSource => ({
  url: `https://dl.k8s.io/release/${version}/bin/linux/${ARCH}/${binary}`,
  checksum: { sha256Url: `https://dl.k8s.io/release/${version}/bin/linux/${ARCH}/${binary}.sha256` },
});

/** Each staging module (k8s.io/api, k8s.io/client-go, ...) is published as its v0.x twin. */
const stagingVersion = (kubernetes: string): string => `v0.${kubernetes.slice('v1.'.length)}`;

const versionStamp = (pkg: string, version: string): Record<string, string> => {
  const [major, minor] = version.replace(/^v/, '').split('.');
  return {
    [`${pkg}.gitVersion`]: version,
    [`${pkg}.gitMajor`]: major ?? '',
    [`${pkg}.gitMinor`]: minor ?? '',
    [`${pkg}.gitTreeState`]: 'clean',
    [`${pkg}.buildDate`]: '1970-01-01T00:00:00Z',
  };
};

export const KUBERNETES_BINARIES = [
  'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'kubectl',
];

/**
 * The Kubernetes binaries as one multi-call binary: what each upstream
 * `cmd/<name>/main.go` does, in one switch (six separate binaries are 540 MB;
 * one that shares their code is about a third of that).
 */
const KUBERNETES_MULTI_CALL: MultiCall = {
  binary: 'kubernetes',
  imports: [
    '"context"',
    '_ "time/tzdata"',
    '_ "k8s.io/client-go/plugin/pkg/client/auth"',
    '"k8s.io/component-base/cli"',
    '"k8s.io/component-base/logs"',
    '_ "k8s.io/component-base/logs/json/register"',
    '_ "k8s.io/component-base/metrics/prometheus/clientgo"',
    '_ "k8s.io/component-base/metrics/prometheus/version"',
    'kubectlutil "k8s.io/kubectl/pkg/cmd/util"',
  ],
  commands: {
    'kube-apiserver': { importPath: 'k8s.io/kubernetes/cmd/kube-apiserver/app', run: 'os.Exit(cli.Run(pkg.NewAPIServerCommand()))' },
    'kube-controller-manager': {
      importPath: 'k8s.io/kubernetes/cmd/kube-controller-manager/app',
      run: 'os.Exit(cli.Run(pkg.NewControllerManagerCommand()))',
    },
    'kube-scheduler': { importPath: 'k8s.io/kubernetes/cmd/kube-scheduler/app', run: 'os.Exit(cli.Run(pkg.NewSchedulerCommand()))' },
    kubelet: { importPath: 'k8s.io/kubernetes/cmd/kubelet/app', run: 'os.Exit(cli.Run(pkg.NewKubeletCommand(context.Background())))' },
    'kube-proxy': { importPath: 'k8s.io/kubernetes/cmd/kube-proxy/app', run: 'os.Exit(cli.Run(pkg.NewProxyCommand()))' },
    kubectl: {
      importPath: 'k8s.io/kubectl/pkg/cmd',
      run: 'logs.GlogSetter(pkg.GetLogVerbosity(os.Args)) //nolint:errcheck\n\t\tif err := cli.RunNoErrOutput(pkg.NewDefaultKubectlCommand()); err != nil {\n\t\t\tkubectlutil.CheckErr(err)\n\t\t}',
    },
  },
};

/**
 * kube-router v2.1.0's dependencies raised to the newest versions the module
 * proxy serves that still build it (checked with Go 1.26, whose standard
 * library carries its own fixes): x/net (HTTP/2 and HTML parsing advisories),
 * x/oauth2 (jws), gRPC (HTTP/2 resource use; it also raises OpenTelemetry) and
 * protobuf (protojson loop). The Docker client stays on v25.0.6 (the AuthZ
 * bypass fix): later majors change the API kube-router's proxy code calls.
 */
export const KUBE_ROUTER_RAISED_DEPENDENCIES: Record<string, string> = {
  'github.com/docker/docker': 'v25.0.6+incompatible',
  'golang.org/x/net': 'v0.62.0',
  'golang.org/x/oauth2': 'v0.38.0',
  'google.golang.org/grpc': 'v1.85.0',
  'google.golang.org/protobuf': 'v1.36.12',
};

const CNI_PLUGINS = ['bridge', 'host-local', 'loopback', 'portmap'];
const CNI_PLUGIN_PACKAGE: Record<string, string> = {
  bridge: 'plugins/main/bridge',
  'host-local': 'plugins/ipam/host-local',
  loopback: 'plugins/main/loopback',
  portmap: 'plugins/meta/portmap',
};

const kubernetesArtifact = (version: string): Artifact => ({
  name: 'kubernetes',
  version,
  sourceBuildMinutes: 5.8,
  binaries: KUBERNETES_BINARIES,
  release: KUBERNETES_BINARIES.map((binary) => k8sRelease(version, binary)),
  source: {
    kind: 'go',
    modules: { 'k8s.io/kubernetes': version },
    packages: Object.fromEntries(KUBERNETES_BINARIES.map((b) => [`k8s.io/kubernetes/cmd/${b}`, b])),
    versionVars: {
      ...versionStamp('k8s.io/component-base/version', version),
      ...versionStamp('k8s.io/client-go/pkg/version', version),
    },
    localReplacesAt: { module: 'k8s.io/kubernetes', version: stagingVersion(version) },
    multiCall: KUBERNETES_MULTI_CALL,
  },
});

const etcdArtifact = (version: string): Artifact => ({
  name: 'etcd',
  version,
  sourceBuildMinutes: 0.4,
  // etcdutl: offline snapshot restore (etcd 3.6 took it out of etcdctl).
  binaries: ['etcd', 'etcdctl', 'etcdutl'],
  release: [{
    url: `https://github.com/etcd-io/etcd/releases/download/${version}/etcd-${version}-linux-${ARCH}.tar.gz`,
    checksum: { sha256Url: `https://github.com/etcd-io/etcd/releases/download/${version}/SHA256SUMS` },
    extract: {
      [`etcd-${version}-linux-${ARCH}/etcd`]: 'etcd',
      [`etcd-${version}-linux-${ARCH}/etcdctl`]: 'etcdctl',
      [`etcd-${version}-linux-${ARCH}/etcdutl`]: 'etcdutl',
    },
  }],
  source: {
    kind: 'go',
    modules: { 'go.etcd.io/etcd/server/v3': version, 'go.etcd.io/etcd/etcdctl/v3': version, 'go.etcd.io/etcd/etcdutl/v3': version },
    packages: { 'go.etcd.io/etcd/server/v3': 'etcd', 'go.etcd.io/etcd/etcdctl/v3': 'etcdctl', 'go.etcd.io/etcd/etcdutl/v3': 'etcdutl' },
  },
});

const corednsArtifact = (version: string): Artifact => ({
  name: 'coredns',
  version,
  sourceBuildMinutes: 1.5,
  binaries: ['coredns'],
  release: [{
    url: `https://github.com/coredns/coredns/releases/download/${version}/coredns_${version.slice(1)}_linux_${ARCH}.tgz`,
    checksum: { sha256Url: `https://github.com/coredns/coredns/releases/download/${version}/coredns_${version.slice(1)}_linux_${ARCH}.tgz.sha256` },
    extract: { coredns: 'coredns' },
  }],
  source: {
    kind: 'go',
    modules: { 'github.com/coredns/coredns': version },
    packages: { 'github.com/coredns/coredns': 'coredns' },
  },
});

const pauseArtifact = (release: KubernetesRelease): Artifact => ({
  name: 'pause',
  version: release.pause,
  sourceBuildMinutes: 0.1,
  binaries: ['pause'],
  // The pause binary has no release download of its own: it ships only inside
  // registry.k8s.io/pause, which needs a registry. kc compiles the same C file.
  release: [],
  source: {
    kind: 'c',
    module: 'k8s.io/kubernetes',
    version: release.kubernetes,
    file: 'build/pause/linux/pause.c',
    binary: 'pause',
    defines: { VERSION: `"${release.pause}"` },
  },
});

const CONTAINERD: Artifact = {
  name: 'containerd',
  version: CONTAINERD_VERSION,
  sourceBuildMinutes: 0.9,
  binaries: ['containerd', 'containerd-shim-runc-v2', 'ctr'],
  release: [{
    url: `https://github.com/containerd/containerd/releases/download/${CONTAINERD_VERSION}/containerd-${CONTAINERD_VERSION.slice(1)}-linux-${ARCH}.tar.gz`,
    checksum: { sha256Url: `https://github.com/containerd/containerd/releases/download/${CONTAINERD_VERSION}/containerd-${CONTAINERD_VERSION.slice(1)}-linux-${ARCH}.tar.gz.sha256sum` },
    extract: { 'bin/containerd': 'containerd', 'bin/containerd-shim-runc-v2': 'containerd-shim-runc-v2', 'bin/ctr': 'ctr' },
  }],
  source: {
    kind: 'go',
    modules: { 'github.com/containerd/containerd/v2': CONTAINERD_VERSION },
    packages: Object.fromEntries(['containerd', 'containerd-shim-runc-v2', 'ctr'].map((b) => [`github.com/containerd/containerd/v2/cmd/${b}`, b])),
    versionVars: { 'github.com/containerd/containerd/v2/version.Version': CONTAINERD_VERSION },
  },
};

const RUNC: Artifact = {
  name: 'runc',
  version: RUNC_VERSION,
  sourceBuildMinutes: 0.3,
  binaries: ['runc'],
  release: [{
    url: `https://github.com/opencontainers/runc/releases/download/${RUNC_VERSION}/runc.${ARCH}`,
    checksum: { sha256Url: `https://github.com/opencontainers/runc/releases/download/${RUNC_VERSION}/runc.sha256sum` },
  }],
  source: {
    kind: 'go',
    modules: { 'github.com/opencontainers/runc': RUNC_VERSION },
    packages: { 'github.com/opencontainers/runc': 'runc' },
    versionVars: { 'main.version': RUNC_VERSION.slice(1) },
    cgo: true,
    tags: ['seccomp'],
  },
};

const CNI_PLUGINS_ARTIFACT: Artifact = {
  name: 'cni-plugins',
  version: CNI_PLUGINS_VERSION,
  sourceBuildMinutes: 0.1,
  binaries: CNI_PLUGINS,
  installDir: '/opt/cni/bin',
  release: [{
    url: `https://github.com/containernetworking/plugins/releases/download/${CNI_PLUGINS_VERSION}/cni-plugins-linux-${ARCH}-${CNI_PLUGINS_VERSION}.tgz`,
    checksum: { sha256Url: `https://github.com/containernetworking/plugins/releases/download/${CNI_PLUGINS_VERSION}/cni-plugins-linux-${ARCH}-${CNI_PLUGINS_VERSION}.tgz.sha256` },
    extract: Object.fromEntries(CNI_PLUGINS.map((p) => [`./${p}`, p])),
  }],
  source: {
    kind: 'go',
    modules: { 'github.com/containernetworking/plugins': CNI_PLUGINS_VERSION },
    packages: Object.fromEntries(CNI_PLUGINS.map((p) => [`github.com/containernetworking/plugins/${CNI_PLUGIN_PACKAGE[p]}`, p])),
    versionVars: { 'github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion': CNI_PLUGINS_VERSION },
  },
};

const CRICTL: Artifact = {
  name: 'crictl',
  version: CRICTL_VERSION,
  sourceBuildMinutes: 0.5,
  binaries: ['crictl'],
  release: [{
    url: `https://github.com/kubernetes-sigs/cri-tools/releases/download/${CRICTL_VERSION}/crictl-${CRICTL_VERSION}-linux-${ARCH}.tar.gz`,
    checksum: { sha256Url: `https://github.com/kubernetes-sigs/cri-tools/releases/download/${CRICTL_VERSION}/crictl-${CRICTL_VERSION}-linux-${ARCH}.tar.gz.sha256` },
    extract: { crictl: 'crictl' },
  }],
  source: {
    kind: 'go',
    modules: { 'sigs.k8s.io/cri-tools': CRICTL_VERSION },
    packages: { 'sigs.k8s.io/cri-tools/cmd/crictl': 'crictl' },
    versionVars: { 'sigs.k8s.io/cri-tools/pkg/version.Version': CRICTL_VERSION },
  },
};

const KUBE_ROUTER: Artifact = {
  // Only its network policy controller runs (src/components/kube-router.ts).
  name: 'kube-router',
  version: KUBE_ROUTER_VERSION,
  sourceBuildMinutes: 1.3,
  binaries: ['kube-router'],
  release: [{
    url: `https://github.com/cloudnativelabs/kube-router/releases/download/${KUBE_ROUTER_VERSION}/kube-router_${KUBE_ROUTER_VERSION.slice(1)}_linux_${ARCH}.tar.gz`,
    checksum: { sha256Url: `https://github.com/cloudnativelabs/kube-router/releases/download/${KUBE_ROUTER_VERSION}/kube-router_${KUBE_ROUTER_VERSION.slice(1)}_checksums.txt` },
    extract: { 'kube-router': 'kube-router' },
  }],
  source: {
    kind: 'go',
    modules: { 'github.com/cloudnativelabs/kube-router/v2': KUBE_ROUTER_VERSION },
    raisedDependencies: KUBE_ROUTER_RAISED_DEPENDENCIES,
    packages: { 'github.com/cloudnativelabs/kube-router/v2/cmd/kube-router': 'kube-router' },
    versionVars: {
      'github.com/cloudnativelabs/kube-router/v2/pkg/version.Version': KUBE_ROUTER_VERSION,
      'github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate': '1970-01-01T00:00:00Z',
    },
  },
};

/**
 * The add-ons every release ships (see src/components/addons.ts): they talk to
 * the API through client-go and support all three releases.
 * local-path-provisioner publishes only images, so it is built from its
 * module where its image cannot be pulled. metrics-server also publishes its
 * binary on its GitHub release, without a checksum file: GitHub's own record
 * of the asset's sha256 checks it.
 */
export const LOCAL_PATH_PROVISIONER_VERSION = 'v0.0.30';
export const METRICS_SERVER_VERSION = 'v0.8.0';

const LOCAL_PATH_PROVISIONER: Artifact = {
  name: 'local-path-provisioner',
  version: LOCAL_PATH_PROVISIONER_VERSION,
  sourceBuildMinutes: 0.9,
  binaries: ['local-path-provisioner'],
  release: [],
  source: {
    kind: 'go',
    modules: { 'github.com/rancher/local-path-provisioner': LOCAL_PATH_PROVISIONER_VERSION },
    packages: { 'github.com/rancher/local-path-provisioner': 'local-path-provisioner' },
    versionVars: { 'main.VERSION': LOCAL_PATH_PROVISIONER_VERSION },
  },
};

const METRICS_SERVER: Artifact = {
  name: 'metrics-server',
  version: METRICS_SERVER_VERSION,
  sourceBuildMinutes: 2.1,
  binaries: ['metrics-server'],
  release: [{
    url: `https://github.com/kubernetes-sigs/metrics-server/releases/download/${METRICS_SERVER_VERSION}/metrics-server-linux-${ARCH}`,
    checksum: { githubRelease: { repository: 'kubernetes-sigs/metrics-server', tag: METRICS_SERVER_VERSION } },
  }],
  source: {
    kind: 'go',
    modules: { 'sigs.k8s.io/metrics-server': METRICS_SERVER_VERSION },
    packages: { 'sigs.k8s.io/metrics-server/cmd/metrics-server': 'metrics-server' },
    versionVars: versionStamp('k8s.io/client-go/pkg/version', METRICS_SERVER_VERSION),
  },
};

/**
 * MetalLB, for Services of `type: LoadBalancer` (src/components/metallb.ts).
 * v0.15.2, not the newest v0.16.2: v0.16.2 needs github.com/metallb/frr-k8s
 * v0.0.27, which the module proxy here does not serve, and the served v0.0.26
 * lacks the API it uses (AsPathPrependPrefixes). v0.15.2's dependencies are
 * all served. Like the add-ons above, MetalLB publishes only images.
 */
export const METALLB_VERSION = 'v0.15.2';

const METALLB: Artifact = {
  name: 'metallb',
  version: METALLB_VERSION,
  sourceBuildMinutes: 1.2,
  binaries: ['controller', 'speaker'],
  release: [],
  source: {
    kind: 'go',
    modules: { 'go.universe.tf/metallb': METALLB_VERSION },
    // The version is a constant in the module (internal/version), so no -X stamp.
    packages: { 'go.universe.tf/metallb/controller': 'controller', 'go.universe.tf/metallb/speaker': 'speaker' },
  },
};

/**
 * kc's cloud controller (images/cloud-controller/main.go): Kubernetes' own
 * service controller from k8s.io/cloud-provider, over a cloud whose load
 * balancers are MetalLB's addresses, so LoadBalancer Services get a cloud's
 * lifecycle (the load-balancer-cleanup finalizer). Goes with the
 * load-balancer add-on. The version is the module's, and kc's own revision of
 * main.go: change the file, and both the revision and its pinned sha256 here
 * (a unit test checks the pin, so a stale cached build is never used).
 */
export const CLOUD_PROVIDER_VERSION = 'v0.37.2';
export const CLOUD_CONTROLLER_VERSION = `${CLOUD_PROVIDER_VERSION}-kc.1`;

const CLOUD_CONTROLLER: Artifact = {
  name: 'cloud-controller',
  version: CLOUD_CONTROLLER_VERSION,
  sourceBuildMinutes: 0.1,
  binaries: ['kc-cloud-controller'],
  release: [],
  source: {
    kind: 'go',
    modules: {
      'k8s.io/cloud-provider': CLOUD_PROVIDER_VERSION,
      'k8s.io/client-go': CLOUD_PROVIDER_VERSION,
      'k8s.io/api': CLOUD_PROVIDER_VERSION,
      'k8s.io/component-base': CLOUD_PROVIDER_VERSION,
    },
    packages: {},
    localMain: {
      folder: 'images/cloud-controller',
      binary: 'kc-cloud-controller',
      sha256: '3404073b2241ce063d9cd4fa321781464f0dd3e2a4dbc96e0eaf3a00dff2f66a',
    },
  },
};

/**
 * Traefik, the ingress add-on (src/components/traefik.ts): Ingress and the
 * Gateway API, k3s's choice. v3.6.12, not the newest v3.7.13: every v3.7
 * release the module proxy serves (v3.7.11 to v3.7.13) fails to build here.
 * Its go.mod replaces github.com/traefik/traefik/dynamic/ext with a folder of
 * the repository that is a module of its own, so the module's zip leaves it
 * out and nothing publishes it; its fork of go-http-auth
 * (github.com/containous/go-http-auth v0.4.1-0.20260804094822-b975dcaa8c48)
 * and six DNS SDKs that lego v5 needs (akamai/AkamaiOPEN-edgegrid-golang/v13
 * v13.4.0, huaweicloud-sdk-go-v3 v0.1.213, nrdcg/oci-go-sdk v1065.124.0,
 * sacloud-sdk-go v0.1.0, ucloud-sdk-go v0.22.116, yandex-cloud/go-sdk/services/dns
 * v0.0.94) are refused ("403 Forbidden: This module version is not
 * available"). v3.6.12 (lego v4) builds with every dependency served. It
 * speaks Gateway API v1.4 (standard channel: GatewayClass, Gateway,
 * HTTPRoute, GRPCRoute, ReferenceGrant, BackendTLSPolicy), which the v1.6.3
 * CRDs below still serve at the versions it asks for.
 */
export const TRAEFIK_VERSION = 'v3.6.12';

/**
 * The Gateway API's CRDs kc installs with the ingress add-on: its standard
 * channel, vendored into manifests/gateway-api/ by
 * scripts/vendor-gateway-api-crds.sh from the module at this version.
 */
export const GATEWAY_API_VERSION = 'v1.6.3';

const TRAEFIK: Artifact = {
  name: 'traefik',
  version: TRAEFIK_VERSION,
  // Its ACME DNS providers bring hundreds of modules: 4m35s in a cold .ci/run, downloads included.
  sourceBuildMinutes: 4.6,
  binaries: ['traefik'],
  release: [{
    url: `https://github.com/traefik/traefik/releases/download/${TRAEFIK_VERSION}/traefik_${TRAEFIK_VERSION}_linux_${ARCH}.tar.gz`,
    checksum: { sha256Url: `https://github.com/traefik/traefik/releases/download/${TRAEFIK_VERSION}/traefik_${TRAEFIK_VERSION}_checksums.txt` },
    extract: { traefik: 'traefik' },
  }],
  source: {
    kind: 'go',
    modules: { 'github.com/traefik/traefik/v3': TRAEFIK_VERSION },
    forkReplacesOf: 'github.com/traefik/traefik/v3',
    packages: { 'github.com/traefik/traefik/v3/cmd/traefik': 'traefik' },
    // Upstream's release stamps these two (and a codename its release environment sets, left at the module's default).
    versionVars: {
      'github.com/traefik/traefik/v3/pkg/version.Version': TRAEFIK_VERSION.slice(1),
      'github.com/traefik/traefik/v3/pkg/version.BuildDate': '1970-01-01T00:00:00Z',
    },
  },
};

/**
 * The registry kc runs beside its clusters (`docker push localhost:5001/...`):
 * distribution, the CNCF registry behind Docker Hub's own `registry` image.
 * Not part of the node image: it runs as a container of its own on the host's
 * engine (see src/cluster/registry/).
 */
export const REGISTRY_VERSION = 'v3.1.2';
export const REGISTRY_IMAGE = `kc/registry:${REGISTRY_VERSION}`;

export const REGISTRY_ARTIFACT: Artifact = {
  name: 'registry',
  version: REGISTRY_VERSION,
  sourceBuildMinutes: 0.9,
  binaries: ['registry'],
  release: [{
    url: `https://github.com/distribution/distribution/releases/download/${REGISTRY_VERSION}/registry_${REGISTRY_VERSION.slice(1)}_linux_${ARCH}.tar.gz`,
    checksum: { sha256Url: `https://github.com/distribution/distribution/releases/download/${REGISTRY_VERSION}/registry_${REGISTRY_VERSION.slice(1)}_linux_${ARCH}.tar.gz.sha256` },
    extract: { registry: 'registry' },
  }],
  source: {
    kind: 'go',
    modules: { 'github.com/distribution/distribution/v3': REGISTRY_VERSION },
    packages: { 'github.com/distribution/distribution/v3/cmd/registry': 'registry' },
    versionVars: { 'github.com/distribution/distribution/v3/version.version': REGISTRY_VERSION },
  },
};

/**
 * Helm, for kc's own tests (a chart installed on a kc cluster, as users do):
 * never part of the node image, and kc itself does not run it.
 */
export const HELM_VERSION = 'v4.3.2';

export const HELM_ARTIFACT: Artifact = {
  name: 'helm',
  version: HELM_VERSION,
  sourceBuildMinutes: 1.4,
  binaries: ['helm'],
  release: [{
    url: `https://get.helm.sh/helm-${HELM_VERSION}-linux-${ARCH}.tar.gz`,
    checksum: { sha256Url: `https://get.helm.sh/helm-${HELM_VERSION}-linux-${ARCH}.tar.gz.sha256sum` },
    extract: { [`linux-${ARCH}/helm`]: 'helm' },
  }],
  source: {
    kind: 'go',
    modules: { 'helm.sh/helm/v4': HELM_VERSION },
    packages: { 'helm.sh/helm/v4/cmd/helm': 'helm' },
    versionVars: { 'helm.sh/helm/v4/internal/version.version': HELM_VERSION },
  },
};

/**
 * actionlint, which `npm run check` runs over kc's workflows and action
 * (scripts/lint-workflows.sh): a development tool, never part of a node image.
 */
export const ACTIONLINT_VERSION = 'v1.7.12';

export const ACTIONLINT_ARTIFACT: Artifact = {
  name: 'actionlint',
  version: ACTIONLINT_VERSION,
  sourceBuildMinutes: 0.2,
  binaries: ['actionlint'],
  release: [{
    url: `https://github.com/rhysd/actionlint/releases/download/${ACTIONLINT_VERSION}/actionlint_${ACTIONLINT_VERSION.slice(1)}_linux_${ARCH}.tar.gz`,
    checksum: { sha256Url: `https://github.com/rhysd/actionlint/releases/download/${ACTIONLINT_VERSION}/actionlint_${ACTIONLINT_VERSION.slice(1)}_checksums.txt` },
    extract: { actionlint: 'actionlint' },
  }],
  source: {
    kind: 'go',
    modules: { 'github.com/rhysd/actionlint': ACTIONLINT_VERSION },
    packages: { 'github.com/rhysd/actionlint/cmd/actionlint': 'actionlint' },
  },
};

/** The tools kc's own development runs (tests, checks), by name: never part of a node image. */
export const DEVELOPMENT_TOOLS: readonly Artifact[] = [HELM_ARTIFACT, ACTIONLINT_ARTIFACT];

/** Everything a node image of one release is made of, in build order (later builds reuse what earlier ones compiled). */
export function artifactsFor(release: KubernetesRelease): Artifact[] {
  return [
    kubernetesArtifact(release.kubernetes),
    etcdArtifact(release.etcd),
    CONTAINERD,
    RUNC,
    CNI_PLUGINS_ARTIFACT,
    CRICTL,
    corednsArtifact(release.coredns),
    KUBE_ROUTER,
    pauseArtifact(release),
    LOCAL_PATH_PROVISIONER,
    METRICS_SERVER,
    METALLB,
    CLOUD_CONTROLLER,
    TRAEFIK,
  ];
}

/**
 * What `kc conformance` runs, never part of the node image: Kubernetes' own
 * end-to-end suite of the pinned version, and the binaries of the test images
 * it needs (built under their upstream names, see src/conformance/images.ts).
 * Built with the same module set-up and flags as the Kubernetes binaries
 * above, so the Go build cache they left is reused.
 */
export function e2eArtifactsFor(release: KubernetesRelease): Artifact[] {
  const version = release.kubernetes;
  return [
    {
      name: 'kubernetes-e2e',
      version,
      // After the Kubernetes binaries, whose 2,600 packages it shares through the Go build cache (localReplacePins).
      sourceBuildMinutes: 2.2,
      binaries: ['e2e.test', 'ginkgo'],
      release: [{
        url: `https://dl.k8s.io/release/${version}/kubernetes-test-linux-${ARCH}.tar.gz`,
        checksum: { sha256Url: `https://dl.k8s.io/release/${version}/kubernetes-test-linux-${ARCH}.tar.gz.sha256` },
        extract: { 'kubernetes/test/bin/e2e.test': 'e2e.test', 'kubernetes/test/bin/ginkgo': 'ginkgo' },
      }],
      source: {
        kind: 'go',
        modules: { 'k8s.io/kubernetes': version },
        // Ginkgo's runner at the version k8s.io/kubernetes requires: it runs the suite in parallel processes.
        packages: { 'github.com/onsi/ginkgo/v2/ginkgo': 'ginkgo' },
        testPackages: { 'k8s.io/kubernetes/test/e2e': 'e2e.test' },
        versionVars: versionStamp('k8s.io/component-base/version', version),
        localReplacesAt: { module: 'k8s.io/kubernetes', version: stagingVersion(version) },
      },
    },
    {
      name: 'e2e-test-binaries',
      version,
      sourceBuildMinutes: 0.2,
      binaries: ['agnhost', 'nnp', 'kube-sample-apiserver', 'consumer', 'consume-cpu'],
      // Published only inside registry images: built from the same module tree.
      release: [],
      source: {
        kind: 'go',
        modules: { 'k8s.io/kubernetes': version, 'k8s.io/sample-apiserver': stagingVersion(version) },
        packages: {
          'k8s.io/kubernetes/test/images/agnhost': 'agnhost',
          'k8s.io/kubernetes/test/images/nonewprivs': 'nnp',
          'k8s.io/sample-apiserver': 'kube-sample-apiserver',
          'k8s.io/kubernetes/test/images/resource-consumer': 'consumer',
          'k8s.io/kubernetes/test/images/resource-consumer/consume-cpu': 'consume-cpu',
        },
        localReplacesAt: { module: 'k8s.io/kubernetes', version: stagingVersion(version) },
      },
    },
  ];
}

/** The suite of the default release: what `kc conformance` runs. */
export const E2E_ARTIFACTS: Artifact[] = e2eArtifactsFor(DEFAULT_RELEASE);

/** Images that pods need, built from artifacts above and preloaded into every node's containerd. */
export interface PodImages {
  pause: string;
  coredns: string;
  localPathProvisioner: string;
  metricsServer: string;
  metallbController: string;
  metallbSpeaker: string;
  cloudController: string;
  traefik: string;
}

export function podImagesFor(release: KubernetesRelease): PodImages {
  return {
    pause: `registry.k8s.io/pause:${release.pause}`,
    coredns: `registry.k8s.io/coredns/coredns:${release.coredns}`,
    // The names upstream publishes them under, so a manifest of theirs finds them too.
    localPathProvisioner: `docker.io/rancher/local-path-provisioner:${LOCAL_PATH_PROVISIONER_VERSION}`,
    metricsServer: `registry.k8s.io/metrics-server/metrics-server:${METRICS_SERVER_VERSION}`,
    metallbController: `quay.io/metallb/controller:${METALLB_VERSION}`,
    metallbSpeaker: `quay.io/metallb/speaker:${METALLB_VERSION}`,
    // kc's own: published nowhere, so never pulled (it is in every node image).
    cloudController: `kc.local/cloud-controller:${CLOUD_CONTROLLER_VERSION}`,
    // Docker Hub's official image (`traefik:v3.6.12`).
    traefik: `docker.io/library/traefik:${TRAEFIK_VERSION}`,
  };
}

/**
 * Weave Net (`--cni weave`), from its maintained fork github.com/rajch/weave
 * (upstream weaveworks/weave is archived; its last release is 2.8.1). The fork
 * publishes its images on Docker Hub as rajchaudhuri/weave-kube and
 * rajchaudhuri/weave-npc. kc cannot build them (the module proxy does not
 * serve github.com/rajch/weave), so they come from a registry or `docker load`.
 */
export const WEAVE_VERSION = '2.9.0';
export const WEAVE_IMAGES = {
  kube: `rajchaudhuri/weave-kube:${WEAVE_VERSION}`,
  npc: `rajchaudhuri/weave-npc:${WEAVE_VERSION}`,
} as const;

export function artifactByName(name: string, release: KubernetesRelease = DEFAULT_RELEASE): Artifact {
  const found = [...artifactsFor(release), ...e2eArtifactsFor(release), REGISTRY_ARTIFACT, ...DEVELOPMENT_TOOLS].find((a) => a.name === name);
  if (!found) throw new Error(`no artifact named "${name}" in the manifest`);
  return found;
}

/**
 * Alpine Linux for the test images upstream builds on it (agnhost's base,
 * and so kitten's and nautilus's): the ImageVolume tests mount kitten and
 * read "Alpine Linux" in its /etc/os-release. No Alpine image or package
 * can be fetched here; this is the real alpine:3.11 (`docker save` of the
 * official image, ID a187dde48cd2), kept as a test fixture in a Go module
 * the proxy serves. Only tests use it, and only as a root filesystem under
 * kc's own static agnhost.
 */
export const ALPINE_TEST_BASE = {
  image: 'alpine:3.11',
  module: 'github.com/aquasecurity/fanal',
  version: 'v0.0.0-20220621143759-7f9185d5d01d',
  file: 'test/testdata/alpine-311.tar.gz',
  sha256: '54b65c6b45e9ab3fcba1043d0ecef41cb9b544aefef20e1c24aa4fbac3d585ef',
} as const;
