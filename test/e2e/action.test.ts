import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { LABEL_CLUSTER } from '../../src/provider/provider.js';
import { kubectlFor } from './cluster-helpers.js';
import { kc, testClusterName } from './helpers.js';

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
  run: string;
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

  evaluate(text: string): string {
    return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expression: string) => {
      const alternatives = expression.split('||').map((e) => e.trim());
      for (const term of alternatives) {
        let value: string;
        if (term.startsWith('inputs.')) value = this.input(term.slice('inputs.'.length));
        else if (term === 'github.action_path') value = ROOT;
        else if (term === 'github.action_repository') value = ''; // a local action (uses: ./)
        else if (/^steps\.[\w-]+\.outputs\.[\w-]+$/.test(term)) {
          const [, step = '', , output = ''] = term.split('.');
          value = this.stepOutputs[step]?.[output] ?? '';
        } else throw new Error(`the test does not know the expression ${term}`);
        if (value !== '' || term === alternatives[alternatives.length - 1]) return value;
      }
      return '';
    });
  }

  /** Evaluates `if:` conditions of the form `inputs.x == 'v'` / `!= 'v'`, joined by &&. */
  condition(text: string | undefined): boolean {
    if (!text) return true;
    return text.split('&&').every((clause) => {
      const match = /^\s*inputs\.([\w-]+)\s*(==|!=)\s*'([^']*)'\s*$/.exec(clause);
      if (!match) throw new Error(`the test does not know the condition ${clause}`);
      const equal = this.input(match[1] ?? '') === match[3];
      return match[2] === '==' ? equal : !equal;
    });
  }

  /** Runs every step whose `if:` holds; resolves the action's outputs. */
  async runAll(): Promise<Record<string, string>> {
    for (const step of this.action.runs.steps) {
      if (this.condition(step.if)) await this.runStep(step);
    }
    return Object.fromEntries(Object.entries(this.action.outputs).map(([name, o]) => [name, this.evaluate(o.value)]));
  }

  private async runStep(step: ActionStep): Promise<void> {
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
      const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', this.evaluate(step.run)], {
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

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-action-'));
    // setup-host.sh restarts dockerd when it changes its daemon.json: never on an engine other tests share.
    // It is pointed at a daemon.json already as it leaves one (docker-daemon-json.test.ts tests the edit itself).
    const daemonJson = join(dir, 'daemon.json');
    await execFileAsync(join(ROOT, 'scripts', 'docker-daemon-json.sh'), ['register', '/usr/local/libexec/kc/runc-capfilter'], {
      env: { ...process.env, KC_DOCKER_DAEMON_JSON: daemonJson },
    });
    job = { path: [], env: { KC_DOCKER_DAEMON_JSON: daemonJson }, dir };
    kubeconfig = join(dir, 'kubeconfig');
    action = parseYaml(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionFile;
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    // setup.sh (host setup, npm ci, build: quick when done) then create.sh, as `uses: ./` with these inputs.
    const create = new CompositeRunner(action, { 'cluster-name': NAME, 'control-planes': '1', workers: '1', kubeconfig }, job);
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
    expect(action.inputs['cluster-name']?.default).toBe('kc');
    expect(action.inputs.wait?.default).toBe('600');
  });

  it('puts bin/kc on PATH, outputs the kubeconfig path and the context kc-<name>, and sets KUBECONFIG', () => {
    expect(job.path).toEqual([join(ROOT, 'bin')]);
    expect(outputs).toEqual({ kubeconfig, context: `kc-${NAME}` });
    expect(job.env.KUBECONFIG).toBe(kubeconfig);
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
    const containers = (await engine.listContainers({ [LABEL_CLUSTER]: NAME })).map((c) => c.name).sort();
    expect(containers).toEqual([`${NAME}-lb`, `${NAME}-master-0`, `${NAME}-worker-0`]);
  });

  it('deletes the cluster with cleanup: true, leaving no container behind', async () => {
    // A later step of the same job, as in the README: `if: always()`, `cleanup: true`.
    const cleanup = new CompositeRunner(action, { 'cluster-name': NAME, kubeconfig, cleanup: 'true' }, job);
    await cleanup.runAll();
    expect(await engine.listContainers({ [LABEL_CLUSTER]: NAME })).toEqual([]);
    expect(await engine.listNetworks({ [LABEL_CLUSTER]: NAME })).toEqual([]);
    expect(await readFile(kubeconfig, 'utf8')).not.toContain(`kc-${NAME}`);
  });
});
