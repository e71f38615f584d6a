import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { LABEL_CLUSTER } from '../../src/provider/provider.js';
import { kubectlFor } from './cluster-helpers.js';
import { DEFAULT_NODE_IMAGE } from '../../src/config/defaults.js';
import { E2E_NODE_IMAGE, kc, testClusterName } from './helpers.js';

/**
 * The GitHub Action (action.yml) run the way a runner runs a composite
 * action: each step's `run:` with its `env:` (the INPUT_* variables, from
 * action.yml itself), GITHUB_OUTPUT / GITHUB_PATH / GITHUB_ENV files, and
 * GITHUB_PATH applied to the steps after it.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const NAME = testClusterName('act');
const engine = new DockerEngine();
const execFileAsync = promisify(execFile);

interface ActionStep {
  id: string;
  if?: string;
  env?: Record<string, string>;
  run?: string;
  uses?: string;
  with?: Record<string, string>;
}

interface ActionFile {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: ActionStep[] };
}

/** What a job carries from step to step: PATH entries (GITHUB_PATH) and variables (GITHUB_ENV). */
interface Job {
  path: string[];
  env: Record<string, string>;
  dir: string;
}

/** Runs one use of the action, evaluating the few expressions action.yml uses; anything else fails the test, so the two stay in step. */
class CompositeRunner {
  readonly stepOutputs: Record<string, Record<string, string>> = {};

  constructor(
    private readonly action: ActionFile,
    private readonly inputs: Record<string, string>,
    private readonly job: Job,
  ) {}

  input(name: string): string {
    if (!(name in this.action.inputs)) throw new Error(`action.yml has no input ${name}`);
    return this.inputs[name] ?? this.action.inputs[name]?.default ?? '';
  }

  /** The value of one term of an expression: an input, a step's output, a github.* value or a quoted string. */
  private term(term: string): string {
    if (term.startsWith('inputs.')) return this.input(term.slice('inputs.'.length));
    if (term === 'github.action_path') return ROOT;
    if (term === 'github.action_repository') return ''; // a local action (uses: ./)
    if (term === 'github.repository') return 'owner/kc-tests';
    if (term === 'github.token') return '';
    if (/^'[^']*'$/.test(term)) return term.slice(1, -1);
    if (/^steps\.[\w-]+\.outputs\.[\w-]+$/.test(term)) {
      const [, step = '', , output = ''] = term.split('.');
      return this.stepOutputs[step]?.[output] ?? '';
    }
    throw new Error(`the test does not know the expression ${term}`);
  }

  evaluate(text: string): string {
    return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expression: string) => {
      const alternatives = expression.split('||').map((e) => e.trim());
      for (const term of alternatives) {
        const value = this.term(term);
        if (value !== '' || term === alternatives[alternatives.length - 1]) return value;
      }
      return '';
    });
  }

  /**
   * Evaluates `if:` conditions: `always()`, and comparisons of inputs or step
   * outputs with quoted strings (== or !=), joined by &&. Without always(), a
   * step after a failed one does not run, as on a runner.
   */
  condition(text: string | undefined): boolean {
    const clauses = (text ?? '').split('&&').map((c) => c.trim()).filter(Boolean);
    const always = clauses.includes('always()');
    if (this.failure && !always) return false;
    return clauses.filter((c) => c !== 'always()').every((clause) => {
      const match = /^((?:inputs|steps)\.[\w.-]+)\s*(==|!=)\s*('[^']*')$/.exec(clause);
      if (!match) throw new Error(`the test does not know the condition ${clause}`);
      const equal = this.term(match[1] ?? '') === this.term(match[3] ?? '');
      return match[2] === '==' ? equal : !equal;
    });
  }

  /** The first step that failed, as the job's result. */
  failure: Error | undefined;
  /** The steps that ran, in order. */
  readonly ran: string[] = [];

  /** Runs every step whose `if:` holds; resolves the action's outputs, or rejects with the first failure once every step that must run ran. */
  async runAll(): Promise<Record<string, string>> {
    for (const step of this.action.runs.steps) {
      if (!this.condition(step.if)) continue;
      this.ran.push(step.id);
      try {
        await this.runStep(step);
      } catch (error) {
        this.failure ??= error as Error;
      }
    }
    if (this.failure) throw this.failure;
    return Object.fromEntries(Object.entries(this.action.outputs).map(([name, o]) => [name, this.evaluate(o.value)]));
  }

  /** Artifacts uploaded, by name. */
  readonly uploads: { name: string; path: string }[] = [];

  /** What the cache was told to save, as its post-job work would. */
  readonly savedCaches: { path: string; key: string }[] = [];

  /**
   * The actions action.yml uses, as a runner runs them: the restore finds
   * what the test left in the folder (empty: a miss; a saved image, as after
   * an earlier run: a hit); the save records the folder and key it keeps.
   */
  private useAction(step: ActionStep): void {
    const path = this.evaluate(step.with?.path ?? '');
    if (step.uses === 'actions/upload-artifact@v7') {
      const name = this.evaluate(step.with?.name ?? '');
      if (!name || !existsSync(path)) throw new Error(`step ${step.id}: nothing to upload as ${name} at ${path}`);
      this.uploads.push({ name, path });
      return;
    }
    const key = this.evaluate(step.with?.key ?? '');
    if (!path || !key) throw new Error(`step ${step.id}: ${step.uses} needs a path and a key`);
    if (step.uses === 'actions/cache/restore@v5') {
      this.stepOutputs[step.id] = { 'cache-hit': existsSync(join(path, 'node-image.tar')) ? 'true' : 'false' };
    } else if (step.uses === 'actions/cache/save@v5') {
      this.savedCaches.push({ path, key });
    } else {
      throw new Error(`the test does not know the action ${step.uses}`);
    }
  }

  private async runStep(step: ActionStep): Promise<void> {
    if (step.uses !== undefined) {
      this.useAction(step);
      return;
    }
    const files = {
      GITHUB_OUTPUT: join(this.job.dir, `${step.id}.output`),
      GITHUB_PATH: join(this.job.dir, `${step.id}.path`),
      GITHUB_ENV: join(this.job.dir, `${step.id}.env`),
    };
    for (const file of Object.values(files)) await writeFile(file, '');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTION_PATH: ROOT,
      GITHUB_WORKSPACE: ROOT,
      RUNNER_TEMP: this.job.dir,
      ...this.job.env,
      PATH: [...this.job.path, process.env.PATH ?? ''].join(delimiter),
      ...files,
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, this.evaluate(String(v))])),
    };
    const code = await new Promise<number | null>((resolve, reject) => {
      // `shell: bash` on a runner: bash --noprofile --norc -eo pipefail {0}
      const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', this.evaluate(step.run ?? '')], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0) throw new Error(`step ${step.id} exited with ${code}`);
    // What the runner does after a step: GITHUB_PATH entries go first on PATH and GITHUB_ENV
    // variables are set for the job's later steps; GITHUB_OUTPUT becomes steps.<id>.outputs.
    const added = (await readFile(files.GITHUB_PATH, 'utf8')).split('\n').filter(Boolean);
    this.job.path.unshift(...added.reverse());
    Object.assign(this.job.env, parseOutputFile(await readFile(files.GITHUB_ENV, 'utf8')));
    this.stepOutputs[step.id] = parseOutputFile(await readFile(files.GITHUB_OUTPUT, 'utf8'));
  }
}

/** `name=value` lines and `name<<DELIMITER` blocks, as in GITHUB_OUTPUT and GITHUB_ENV. */
function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const block = /^([^=<]+)<<(.+)$/.exec(line);
    if (block?.[1] && block[2]) {
      const end = lines.indexOf(block[2], i + 1);
      outputs[block[1]] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (line.includes('=')) {
      outputs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return outputs;
}

describe('the GitHub Action (action.yml and .github/action/*.sh)', () => {
  let dir: string;
  let job: Job;
  let kubeconfig: string;
  let action: ActionFile;
  let outputs: Record<string, string>;
  let create: CompositeRunner;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-action-'));
    // setup-host.sh restarts dockerd when it changes its daemon.json: never on an engine other tests share.
    // It is pointed at a daemon.json already as it leaves one (docker-daemon-json.test.ts tests the edit itself).
    const daemonJson = join(dir, 'daemon.json');
    await execFileAsync(join(ROOT, 'scripts', 'docker-daemon-json.sh'), ['register', '/usr/local/libexec/kc/runc-capfilter'], {
      env: { ...process.env, KC_DOCKER_DAEMON_JSON: daemonJson },
    });
    // The node image cache folder actions/cache would keep: empty, as on a first (cold) run.
    job = { path: [], env: { KC_DOCKER_DAEMON_JSON: daemonJson, KC_IMAGE_CACHE_DIR: join(dir, 'image-cache') }, dir };
    kubeconfig = join(dir, 'kubeconfig');
    action = parseYaml(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionFile;
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    // setup.sh (host setup, npm ci, build: quick when done) then create.sh, as `uses: ./` with these inputs.
    // The cluster's name under helm/kind-action's input name: the same meaning, taken too.
    create = new CompositeRunner(action, { cluster_name: NAME, 'control-planes': '1', workers: '1', kubeconfig }, job);
    outputs = await create.runAll();
  });

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await rm(dir, { recursive: true, force: true });
  });

  it('is a composite action whose inputs include what helm/kind-action users expect', () => {
    expect(action.runs.using).toBe('composite');
    expect(Object.keys(action.inputs)).toEqual(
      expect.arrayContaining(['cluster-name', 'config', 'node-image', 'kubernetes-version', 'wait', 'kc-version', 'install-only', 'cleanup', 'ignore-failed-clean']),
    );
    // helm/kind-action's names, where they mean the same.
    expect(Object.keys(action.inputs)).toEqual(
      expect.arrayContaining(['cluster_name', 'node_image', 'install_only', 'ignore_failed_clean', 'verbosity', 'kubectl_version']),
    );
    // Current majors of every action used (Node.js 24), the cache restored and saved apart so a failed job still saves.
    expect(action.runs.steps.filter((step) => step.uses).map((step) => step.uses)).toEqual(['actions/cache/restore@v5', 'actions/cache/save@v5', 'actions/upload-artifact@v7']);
    expect(action.runs.steps.find((step) => step.uses === 'actions/cache/save@v5')?.if).toMatch(/^always\(\) && /);
    expect(action.inputs['cluster-name']?.default).toBe('kc');
    expect(action.inputs.wait?.default).toBe('600');
  });

  it('puts bin/kc and the cluster\'s own kubectl on PATH, outputs the kubeconfig path and the context kc-<name>, and sets KUBECONFIG', async () => {
    const bin = join(dir, `kc-bin-${NAME}`);
    expect(job.path).toEqual([bin, join(ROOT, 'bin')]);
    expect(outputs).toEqual({ kubeconfig, context: `kc-${NAME}`, kubectl: join(bin, 'kubectl') });
    expect(job.env.KUBECONFIG).toBe(kubeconfig);
    const version = await execFileAsync(join(bin, 'kubectl'), ['version', '--client', '-o', 'json']);
    expect((JSON.parse(version.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion).toBe(DEFAULT_NODE_IMAGE.split(':')[1]);
    // Where published node images come from: the action repository's owner (here the workflow's repository, as for `uses: ./`).
    expect(job.env.KC_NODE_IMAGE_REPOSITORY).toBe('ghcr.io/owner/kc-node');
  });

  it('keys the node image cache by the image, and saves the image after a run that did not find it cached', async () => {
    expect(outputs.context).toBeDefined();
    const key = create.stepOutputs['image-key'];
    expect(key?.image).toBe(DEFAULT_NODE_IMAGE);
    expect(key?.key).toMatch(new RegExp(`^kc-node-image-kc_node_${DEFAULT_NODE_IMAGE.split(':')[1]}-\\w+-[0-9a-f]{32}$`));
    expect(create.stepOutputs['image-cache']).toEqual({ 'cache-hit': 'false' });
    expect(create.savedCaches).toEqual([{ path: join(dir, 'image-cache'), key: key?.key }]);
    const manifest = await execFileAsync('tar', ['-xOf', join(dir, 'image-cache', 'node-image.tar'), 'manifest.json']);
    expect(JSON.parse(manifest.stdout)).toEqual([expect.objectContaining({ RepoTags: [DEFAULT_NODE_IMAGE] })]);
  });

  it('creates a cluster whose nodes are Ready', async () => {
    const kubectl = kubectlFor(outputs.kubeconfig ?? '', outputs.context ?? '');
    const nodes = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as {
      items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[];
    };
    expect(nodes.items.map((n) => n.metadata.name)).toEqual([`${NAME}-worker-0`]);
    for (const node of nodes.items) {
      expect(node.status.conditions.find((c) => c.type === 'Ready')?.status, node.metadata.name).toBe('True');
    }
    const containers = (await engine.listNodes({ [LABEL_CLUSTER]: NAME })).map((c) => c.name).sort();
    expect(containers).toEqual([`${NAME}-lb`, `${NAME}-master-0`, `${NAME}-worker-0`]);
  });

  it('saves the node image cache when the job fails after setting up (a red pipeline does not build the image again)', async () => {
    const redJob: Job = { path: [], env: { ...job.env, KC_IMAGE_CACHE_DIR: join(dir, 'red-image-cache') }, dir: join(dir, 'red') };
    await execFileAsync('mkdir', ['-p', redJob.dir]);
    // The create step fails at once (a word for a number): nothing is created, the image is there.
    const red = new CompositeRunner(action, { 'cluster-name': `${NAME}-red`, workers: 'many', kubeconfig }, redJob);
    await expect(red.runAll()).rejects.toThrow('step create exited with 1');
    expect(red.ran).toEqual(['inputs', 'setup', 'image-key', 'image-cache', 'image-load', 'create', 'image-save', 'image-cache-save']);
    expect(red.savedCaches).toEqual([{ path: join(dir, 'red-image-cache'), key: red.stepOutputs['image-key']?.key }]);
    expect(existsSync(join(dir, 'red-image-cache', 'node-image.tar'))).toBe(true);
  });

  it('refuses an arm64 runner before it sets anything up, and a word where a switch is asked for', async () => {
    const stub = join(dir, 'arm');
    await execFileAsync('mkdir', ['-p', stub]);
    await writeFile(join(stub, 'uname'), '#!/bin/sh\necho aarch64\n', { mode: 0o755 });
    const inputs = (env: Record<string, string>) =>
      execFileAsync('bash', [join(ROOT, '.github', 'action', 'inputs.sh')], { env: { ...process.env, GITHUB_OUTPUT: '', ...env } }).then(
        (r) => r.stdout,
        (e: { stdout: string }) => e.stdout,
      );
    expect(await inputs({ PATH: `${stub}${delimiter}${process.env.PATH ?? ''}`, RUNNER_ARCH: 'ARM64' })).toContain(
      "::error title=kc action::this runner is aarch64 (ARM64), and kc's node images are amd64 only: use an x86_64 runner such as ubuntu-latest",
    );
    expect(await inputs({ INPUT_INSTALL_ONLY: 'sure' })).toContain("::error title=kc action::input install_only must be true or false, not 'sure'");
    expect(await inputs({ INPUT_INSTALL_ONLY: 'true' })).toContain('output mode=install');
  });

  it('deletes the cluster with cleanup: true, uploading its logs first when asked (a failed job), leaving no container behind', async () => {
    // A later step of the same job, as in docs/ci.md: `if: always()`, `cleanup: true`, `export-logs: ${{ job.status == 'failure' }}`.
    const cleanup = new CompositeRunner(action, { 'cluster-name': NAME, kubeconfig, cleanup: 'true', 'export-logs': 'true' }, job);
    await cleanup.runAll();
    expect(cleanup.uploads).toEqual([{ name: `kc-logs-${NAME}`, path: join(dir, `kc-logs-${NAME}.tar.gz`) }]);
    const listing = (await execFileAsync('tar', ['tzf', join(dir, `kc-logs-${NAME}.tar.gz`)], { maxBuffer: 16 * 1024 * 1024 })).stdout;
    expect(listing).toContain(`kc-logs-${NAME}/cluster/events.txt`);
    expect(listing).toMatch(new RegExp(`kc-logs-${NAME}/${NAME}-worker-0/pods/kube-system_coredns-`));
    expect(await engine.listNodes({ [LABEL_CLUSTER]: NAME })).toEqual([]);
    expect(await engine.listNetworks({ [LABEL_CLUSTER]: NAME })).toEqual([]);
    expect(await readFile(kubeconfig, 'utf8')).not.toContain(`kc-${NAME}`);
  });
});

/** Runs .github/action/image-cache.sh as the action's steps do, with these variables. */
async function imageCache(command: 'key' | 'load' | 'save', env: Record<string, string>): Promise<{ stdout: string; outputs: Record<string, string> }> {
  const { stdout } = await execFileAsync('bash', [join(ROOT, '.github', 'action', 'image-cache.sh'), command], {
    env: { ...process.env, GITHUB_OUTPUT: '', ...env },
  });
  const outputs = Object.fromEntries([...stdout.matchAll(/^output ([\w-]+)=(.*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
  return { stdout, outputs };
}

describe('the node image cache of the GitHub Action (.github/action/image-cache.sh)', () => {
  let dir: string;
  // A tag of its own for the node image: loading and removing it never touches the image other tests use.
  const tag = `kc-e2e/image-cache-${testClusterName('t')}:${process.pid}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-image-cache-'));
    await execFileAsync('docker', ['tag', E2E_NODE_IMAGE ?? DEFAULT_NODE_IMAGE, tag]);
  });

  afterAll(async () => {
    await execFileAsync('docker', ['rmi', tag]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('loads on a warm run (the folder holds a saved image) what a cold run saved, and does nothing more', async () => {
    const env = { INPUT_NODE_IMAGE: tag, INPUT_IMAGE_CACHE_DIR: dir };
    const imageId = async () => (await execFileAsync('docker', ['image', 'inspect', '-f', '{{.Id}}', tag])).stdout.trim();
    const built = await imageId();
    expect((await imageCache('save', { ...env, INPUT_CACHE_HIT: 'false' })).stdout).toContain(`saved node image ${tag}`);
    await execFileAsync('docker', ['rmi', tag]);
    // The next run: the image is gone (a fresh runner), the cache folder restored.
    expect((await imageCache('load', env)).stdout).toContain(`loading node image ${tag} from the cache`);
    expect(await imageId()).toBe(built);
    expect((await imageCache('load', env)).stdout).toContain(`node image ${tag} is present: nothing to load`);
    expect((await imageCache('save', { ...env, INPUT_CACHE_HIT: 'true' })).stdout).toContain('came from the cache: nothing to save');
  }, 300_000);

  it('keys by everything that goes into the image: a changed node image file is a new key', async () => {
    const source = join(dir, 'source');
    await execFileAsync('mkdir', ['-p', join(source, 'src'), join(source, 'scripts')]);
    for (const path of ['src/artifacts', 'src/image', 'node-image', 'images', 'scripts/runc-capfilter']) {
      await execFileAsync('cp', ['-r', join(ROOT, path), join(source, path)]);
    }
    const env = { KC_SOURCE_DIR: source, INPUT_NODE_IMAGE: tag, KC_IMAGE_CACHE_DIR: join(dir, 'keyed') };
    const first = (await imageCache('key', env)).outputs;
    expect(first).toEqual({ image: tag, dir: join(dir, 'keyed'), key: expect.stringMatching(/^kc-node-image-kc-e2e_image-cache-.*-[0-9a-f]{32}$/) as string });
    expect((await imageCache('key', env)).outputs.key).toBe(first.key);
    await writeFile(join(source, 'node-image', 'files', 'etc', 'sysctl.d', '90-kc.conf'), 'changed\n', { flag: 'a' });
    expect((await imageCache('key', env)).outputs.key).not.toBe(first.key);
  });
});
