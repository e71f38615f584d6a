import { podImagesFor } from '../artifacts/manifest.js';
import { PATHS } from './paths.js';
import { registryAddress, type ClusterPlan } from '../model/plan.js';
import type { ComponentBundle, NodeFile } from './types.js';
import { unitFile } from './unit.js';
import { UNIT } from './units.js';
import { canonicalImage } from '../util/image-ref.js';

/** Installed by the node image; hands every call to runc after adapting what the host cannot grant. */
export const RUNC_WRAPPER = '/usr/local/libexec/kc/runc-capfilter';

export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';
/** Kubernetes' images and containers live in this containerd namespace. */
export const CRI_NAMESPACE = 'k8s.io';

/** Where containerd reads each registry's hosts.toml (`<dir>/<host:port>/hosts.toml`). */
export const REGISTRY_HOSTS_DIR = '/etc/containerd/certs.d';

/**
 * containerd 2.x configuration (schema version 3): runc with the systemd
 * cgroup driver (kubelet uses the same), the sandbox image pinned so it is
 * never pulled nor garbage-collected, CNI from the standard folders, and
 * registry hosts from REGISTRY_HOSTS_DIR.
 */
export function renderContainerdConfig(sandboxImage: string): string {
  return `version = 3

[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'

[plugins.'io.containerd.cri.v1.images'.registry]
  config_path = '${REGISTRY_HOSTS_DIR}'

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = '${sandboxImage}'

[plugins.'io.containerd.cri.v1.runtime']
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true

[plugins.'io.containerd.cri.v1.runtime'.containerd]
  default_runtime_name = 'runc'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = true
  # kc's wrapper around runc: see node-image/Dockerfile and scripts/runc-capfilter.
  BinaryName = '${RUNC_WRAPPER}'

[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ['${PATHS.cniBinDir}']
  conf_dir = '${PATHS.cniConfDir}'
`;
}

/**
 * The registry kc runs on the host, as a pod's image names it
 * (`localhost:5001/app:dev`, the name `docker push` used): on a node,
 * localhost is the node itself, so containerd is sent to the registry's
 * address on the cluster network instead, over plain HTTP as on the host.
 */
export function registryHostsFile(hostPort: number, registryIp: string): NodeFile {
  return {
    path: `${REGISTRY_HOSTS_DIR}/localhost:${hostPort}/hosts.toml`,
    content: `# kc's registry: localhost:${hostPort} on the host, ${registryIp}:5000 on the cluster network.
server = "http://localhost:${hostPort}"

[host."http://${registryIp}:5000"]
  capabilities = ["pull", "resolve"]
`,
  };
}

/**
 * The upstream registries kc's registry mirrors, by the name images carry
 * and the address containerd asks when the mirror does not have an image.
 */
export const MIRRORED_REGISTRIES: Readonly<Record<string, string>> = {
  'registry.k8s.io': 'https://registry.k8s.io',
  'docker.io': 'https://registry-1.docker.io',
  'ghcr.io': 'https://ghcr.io',
  'quay.io': 'https://quay.io',
};

/**
 * kc's registry as a pull-through place for upstream names: containerd asks
 * it first for `docker.io/library/redis:7.0.7`, then the upstream registry.
 * Each upstream registry has a folder of its own in kc's registry, named
 * after it (`docker.io/library/redis`, `ghcr.io/owner/app`), so the same
 * owner on two registries never collides; containerd is pointed at that
 * folder as the mirror's API root (override_path). An image pushed as
 * `localhost:5001/docker.io/library/redis:7.0.7` (`kc load registry` and `kc
 * conformance` push so) is thus found offline, even with imagePullPolicy Always.
 */
export function registryMirrorFiles(registryIp: string): NodeFile[] {
  return Object.entries(MIRRORED_REGISTRIES).map(([name, upstream]) => ({
    path: `${REGISTRY_HOSTS_DIR}/${name}/hosts.toml`,
    content: `# kc's registry first (${registryIp}:5000, its folder ${name}/), then ${name} itself.
server = "${upstream}"

[host."http://${registryIp}:5000/v2/${name}"]
  capabilities = ["pull", "resolve"]
  override_path = true
`,
  }));
}

/**
 * The name to push an image under so that the mirror serves it to pods that
 * name it as before: `redis:7.0.7` → `localhost:5001/docker.io/library/redis:7.0.7`,
 * `registry.k8s.io/e2e-test-images/agnhost:2.55` →
 * `localhost:5001/registry.k8s.io/e2e-test-images/agnhost:2.55`. undefined
 * for an image of a registry kc does not mirror, or a name it cannot push
 * (a digest).
 */
export function mirrorName(image: string, hostPort: number): string | undefined {
  const canonical = canonicalImage(image);
  if (!canonical || !(canonical.registry in MIRRORED_REGISTRIES)) return undefined;
  return `localhost:${hostPort}/${canonical.registry}/${canonical.path}:${canonical.tag}`;
}

const IMPORT_IMAGES_SCRIPT = '/etc/kc/import-images.sh';

/**
 * Imports the image archives baked into the node image (pause, CoreDNS, the
 * add-ons) into containerd, so no pod ever needs a registry. The kubelet
 * starts after it: a pod whose image is missing would try a registry and back
 * off for seconds. They are zstd-compressed (see node-image/Dockerfile), and
 * imported all at once (one by one, the six took 8 s of a worker's boot while
 * the whole cluster booted); it ends before kc starts kubelet, once the
 * control plane is ready, so it is not on create's path. ctr fails on a tar
 * that ends early, and the unit fails if any import did.
 */
/**
 * Where the import records what it imported: on the worker's containerd
 * volume, which keeps the images through `kc stop`/`kc start`. A start finds
 * the same archives already imported and skips the work (it took 8.5 s of a
 * worker's boot, with kubelet waiting for it); a new node image (an upgrade)
 * brings other archives, and they are imported.
 */
const IMPORTED_MARK = '/var/lib/containerd/kc-imported-images.sha256';

function importImagesScript(pauseImage: string): string {
  return [
    '#!/bin/sh',
    '# kc: imports the pod images baked into the node image into containerd (see kc-import-images.service).',
    // The node image lists its archives' digests (node-image/Dockerfile); an image without the list is hashed here.
    `archives=$(cat ${PATHS.imageArchives}/SHA256SUMS 2>/dev/null || (cd ${PATHS.imageArchives} && sha256sum ./*.tar.zst) 2>/dev/null)`,
    `if [ -n "$archives" ] && [ "$archives" = "$(cat ${IMPORTED_MARK} 2>/dev/null)" ] &&`,
    `  ${PATHS.bin}/ctr --namespace ${CRI_NAMESPACE} images ls -q | grep -qx '${pauseImage}'; then`,
    "  echo 'kc: these pod images are imported already (a restart): nothing to do'",
    '  exit 0',
    'fi',
    "pids=''",
    `for archive in ${PATHS.imageArchives}/*.tar.zst; do`,
    '  [ -e "$archive" ] || continue',
    // Only pause is unpacked now (every sandbox needs it); the CRI unpacks the others when a container of theirs is created.
    '  case "$archive" in */pause.tar.zst) unpack=--snapshotter=overlayfs ;; *) unpack=--no-unpack ;; esac',
    // --local: ctr writes the content store itself. Through containerd's transfer service (the default
    // since containerd 2.0) the same six images cost 4.0 s of CPU instead of 1.6 s, taken from the
    // masters starting at the same moment (each container weighs the same to the kernel's scheduler).
    `  (zstd -dcq "$archive" | ${PATHS.bin}/ctr --namespace ${CRI_NAMESPACE} images import --local "$unpack" - >/dev/null) &`,
    '  pids="$pids $!"',
    'done',
    'status=0',
    'for pid in $pids; do wait "$pid" || status=1; done',
    `if [ $status -eq 0 ]; then printf '%s\\n' "$archives" >${IMPORTED_MARK}; fi`,
    'exit $status',
    '',
  ].join('\n');
}

/** containerd, and the one-shot unit that imports the pod images (see importImagesScript). */
export function containerdBundle(plan: ClusterPlan): ComponentBundle {
  return {
    files: [
      { path: IMPORT_IMAGES_SCRIPT, content: importImagesScript(podImagesFor(plan.release).pause), mode: 0o755 },
      { path: PATHS.containerdConfig, content: renderContainerdConfig(podImagesFor(plan.release).pause) },
      ...(plan.spec.addons.registry ? [registryHostsFile(plan.spec.registryPort, registryAddress(plan)), ...registryMirrorFiles(registryAddress(plan))] : []),
      unitFile(UNIT.containerd, {
        description: 'containerd container runtime',
        command: [`${PATHS.bin}/containerd`, `--config=${PATHS.containerdConfig}`],
        type: 'notify',
        after: ['network.target'],
        service: [
          'ExecStartPre=-/sbin/modprobe overlay',
          'Delegate=yes',
          'KillMode=process',
          'LimitNOFILE=infinity',
          'LimitNPROC=infinity',
          'LimitCORE=infinity',
          'TasksMax=infinity',
          'OOMScoreAdjust=-999',
        ],
      }),
      unitFile(UNIT.importImages, {
        description: 'Import the image archives baked into the kc node image into containerd',
        command: [IMPORT_IMAGES_SCRIPT],
        type: 'oneshot',
        requires: [UNIT.containerd],
        // It runs while the masters start etcd and the API servers on the same cores. Its niceness
        // orders it within this node only: against the masters, it is kept cheap (see --local above).
        service: ['Nice=19', 'IOSchedulingClass=idle'],
      }),
    ],
    units: [UNIT.containerd, UNIT.importImages],
  };
}
