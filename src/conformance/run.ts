import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactCache } from '../artifacts/cache.js';
import { artifactByName, DEFAULT_RELEASE, e2eArtifactsFor, type KubernetesRelease } from '../artifacts/manifest.js';
import { resolveArtifacts, type ResolvedArtifact, type SourceChoice } from '../artifacts/resolve.js';
import { downloadModule } from '../artifacts/source.js';
import { createCluster } from '../cluster/create/create.js';
import { deleteCluster } from '../cluster/ops/delete.js';
import { adminEntry } from '../cluster/ops/kubeconfig.js';
import { contextName } from '../state/kubeconfig-file.js';
import { loadDockerImages, workerNodes } from '../cluster/ops/load.js';
import { loadIntoRegistry } from '../cluster/registry/load.js';
import { loadState, type ClusterState } from '../state/cluster-state.js';
import { defaultClusterSpec } from '../config/defaults.js';
import type { SingleEngine } from '../provider/provider.js';
import { ensureBaseImage } from '../image/base.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import { CommandError, run } from '../util/exec.js';
import { cacheDir } from '../util/paths.js';
import type { Progress } from '../util/progress.js';
import { ensureTestImages, nameTestImages, testImageTags, unprovidedTestImages, UPSTREAM_IMAGE_MANIFEST, upstreamImageNames } from './images.js';
import { summarizeReport, type SuiteSummary } from './report.js';
import type { Selection } from './selection.js';

export const CONFORMANCE_CLUSTER = 'conformance';

export interface ConformanceOptions {
  engine: SingleEngine;
  progress: Progress;
  selection: Selection;
  /** An existing cluster to test; else one is created for the run and deleted after it. */
  cluster?: string;
  /** Parallel Ginkgo processes. */
  procs: number;
  /** Where the JUnit and JSON reports and the full log go. */
  reportDir: string;
  source: SourceChoice;
  /** Keep a cluster the run created. */
  retain: boolean;
  /** Ginkgo's limit for the whole run, in minutes. */
  timeoutMinutes: number;
}

export interface ConformanceResult extends SuiteSummary {
  reportDir: string;
  logFile: string;
}

export interface Tools {
  e2eTest: string;
  ginkgo: string;
  kubectl: string;
  artifacts: ResolvedArtifact[];
  /** The test images' names in this suite version: what is loaded into the nodes. */
  testImages: string[];
}

function binary(artifacts: ResolvedArtifact[], name: string, file: string): string {
  const found = artifacts.find((a) => a.artifact.name === name);
  if (!found) throw new Error(`internal: artifact ${name} was not resolved`);
  return join(found.entry.binDir, file);
}

type PrepareOptions = Pick<ConformanceOptions, 'engine' | 'progress' | 'source'>;

/** The suite of a release and its test binaries, from the cache, a release download or the Go module (like every artifact). */
async function resolveTools(options: PrepareOptions, release: KubernetesRelease): Promise<Omit<Tools, 'testImages'>> {
  const cache = new ArtifactCache(cacheDir());
  const artifacts = await resolveArtifacts(
    [...e2eArtifactsFor(release), artifactByName('kubernetes', release), artifactByName('etcd', release)],
    { cache, choice: options.source },
    options.progress,
  );
  return {
    e2eTest: binary(artifacts, 'kubernetes-e2e', 'e2e.test'),
    ginkgo: binary(artifacts, 'kubernetes-e2e', 'ginkgo'),
    kubectl: binary(artifacts, 'kubernetes', 'kubectl'),
    artifacts,
  };
}

/** The test images under the names the release's suite uses (its test/utils/image/manifest.go); returns those names. */
async function buildTestImages(options: PrepareOptions, release: KubernetesRelease, artifacts: ResolvedArtifact[]): Promise<string[]> {
  const debian = await options.progress.step('Base image', (note) => ensureBaseImage(options.engine, note));
  return options.progress.step('Test images', async (note) => {
    const version = release.kubernetes;
    const module = await downloadModule('k8s.io/kubernetes', version, tmpdir());
    if (!module.Dir) throw new Error(`Go module k8s.io/kubernetes@${version} has no source folder`);
    const manifestGo = await readFile(join(module.Dir, UPSTREAM_IMAGE_MANIFEST), 'utf8');
    const images = nameTestImages(upstreamImageNames(manifestGo));
    const unprovided = [...unprovidedTestImages(manifestGo).values()];
    if (unprovided.length > 0) {
      options.progress.info(
        `The ${version} suite names ${unprovided.length} images kc does not build, so tests that run them fail offline: ${unprovided.join(', ')} (docs/conformance.md#test-images)`,
      );
    }
    const built = await ensureTestImages(options.engine, debian, { artifacts, kubernetesModuleDir: module.Dir }, note, images);
    const tags = testImageTags(images);
    note(`${tags.length} images of the ${version} suite, ${built === 0 ? 'cached' : `${built} built`}`);
    return tags;
  });
}

/**
 * What a run needs before any cluster: the suite of the release and its test
 * binaries (from the cache, a release or the Go module) and the test images.
 * `kc conformance --build-only` stops here: a CI cache step, or the e2e
 * set-up building the suite ahead while other tests run.
 */
export async function prepareConformance(options: PrepareOptions, release: KubernetesRelease = DEFAULT_RELEASE): Promise<Tools> {
  const tools = await resolveTools(options, release);
  return { ...tools, testImages: await buildTestImages(options, release, tools.artifacts) };
}

/** The state of the cluster to test, when one is named: checked before anything is built. */
async function existingCluster(name: string | undefined): Promise<ClusterState | undefined> {
  if (name === undefined) return undefined;
  const state = await loadState(name);
  if (!state) throw new Error(`no cluster named "${name}": kc get clusters lists them, or leave out --name to test a new one`);
  return state;
}

/** Writes an admin kubeconfig for the cluster into the report folder; creates the cluster first when none is given. */
async function prepareCluster(options: ConformanceOptions, existing: ClusterState | undefined, kubeconfig: string): Promise<string> {
  if (existing) {
    await writeFile(kubeconfig, renderKubeconfig(adminEntry(existing, false)), { mode: 0o600 });
    return existing.plan.spec.name;
  }
  const spec = defaultClusterSpec({ name: CONFORMANCE_CLUSTER });
  options.progress.info(`Creating cluster "${spec.name}" (${spec.controlPlanes} masters, ${spec.workers} workers) ...`);
  await createCluster({ engine: options.engine, registries: options.engine, progress: options.progress, spec, kubeconfigPath: kubeconfig });
  return spec.name;
}

/** Ginkgo's command line: its own flags, the compiled suite, then the suite's flags. */
export function ginkgoArgs(options: Pick<ConformanceOptions, 'selection' | 'procs' | 'reportDir' | 'timeoutMinutes'>, paths: {
  e2eTest: string;
  kubectl: string;
  kubeconfig: string;
  context: string;
}): string[] {
  return [
    `--procs=${options.procs}`,
    `--timeout=${options.timeoutMinutes}m`,
    `--focus=${options.selection.focus}`,
    `--skip=${options.selection.skip}`,
    '--no-color',
    '--silence-skips',
    `--output-dir=${options.reportDir}`,
    '--json-report=report.json',
    '--junit-report=junit.xml',
    paths.e2eTest,
    '--',
    `--kubeconfig=${paths.kubeconfig}`,
    `--context=${paths.context}`,
    `--kubectl-path=${paths.kubectl}`,
    '--provider=skeleton',
    '--dump-logs-on-failure=false',
    '--disable-log-dump',
  ];
}

/**
 * `kc conformance`: Kubernetes' own e2e suite of the cluster's version
 * against a kc cluster, offline: the suite and test images built locally,
 * the images loaded into the workers, the tests run in parallel by Ginkgo.
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceResult> {
  const existing = await existingCluster(options.cluster);
  if (!existing && (await loadState(CONFORMANCE_CLUSTER))) {
    // Never delete a cluster kc did not create for this run: it may be another run's, or the user's.
    throw new Error(
      `a cluster named "${CONFORMANCE_CLUSTER}" already exists (another run, or one kept with --retain): ` +
        `test it with --name ${CONFORMANCE_CLUSTER}, or delete it first with \`kc delete cluster --name ${CONFORMANCE_CLUSTER}\``,
    );
  }
  await mkdir(options.reportDir, { recursive: true });
  // The suite of the cluster's own version: its tests and test images match that API server.
  const tools = await prepareConformance(options, existing ? existing.plan.release : DEFAULT_RELEASE);
  const kubeconfig = join(options.reportDir, 'kubeconfig');
  const cluster = await prepareCluster(options, existing, kubeconfig);
  const created = existing === undefined;
  try {
    await options.progress.step('Loading test images', async (note) => {
      const workers = await workerNodes(options.engine, cluster);
      await loadDockerImages(options.engine, workers, tools.testImages);
      // Tests that pull with imagePullPolicy Always find them in the cluster's registry, which mirrors registry.k8s.io.
      const spec = (await loadState(cluster))?.plan.spec;
      const pushed = spec?.addons.registry ? (await loadIntoRegistry(options.engine, spec.registryPort, tools.testImages)).filter((o) => 'pushedAs' in o).length : 0;
      note(`${tools.testImages.length} images into ${workers.length} workers${pushed > 0 ? `, ${pushed} into the registry (localhost:${spec?.registryPort ?? ''})` : ''}`);
    });
    const logFile = join(options.reportDir, 'e2e.log');
    const args = ginkgoArgs(options, { e2eTest: tools.e2eTest, kubectl: tools.kubectl, kubeconfig, context: contextName(cluster) });
    const summary = await options.progress.step(`Running ${options.selection.label}`, async (note) => {
      try {
        await run(tools.ginkgo, args, { logFile, cwd: options.reportDir });
      } catch (error) {
        // Failing tests make Ginkgo exit non-zero; only a run without a report is an error of its own.
        if (!(error instanceof CommandError)) throw error;
        const report = await readFile(join(options.reportDir, 'report.json'), 'utf8').catch(() => undefined);
        if (report === undefined) throw new Error(`${error.message}\n${error.outputTail}\nFull log: ${logFile}`);
      }
      const result = summarizeReport(await readFile(join(options.reportDir, 'report.json'), 'utf8'));
      note(`${result.passed} passed, ${result.failed} failed`);
      return result;
    });
    return { ...summary, reportDir: options.reportDir, logFile };
  } finally {
    if (created && !options.retain) await deleteCluster({ engine: options.engine, registries: options.engine, name: cluster, kubeconfigPath: kubeconfig });
  }
}
