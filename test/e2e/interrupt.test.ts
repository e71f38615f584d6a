import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBERNETES_RELEASES } from '../../src/artifacts/manifest.js';
import { parseMemberList } from '../../src/cluster/lifecycle/moves/etcd.js';
import { etcdctlCommand } from '../../src/components/etcd.js';
import { nodeImageFor } from '../../src/config/defaults.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { execOrThrow } from '../../src/provider/provider.js';
import { loadState } from '../../src/state/cluster-state.js';
import { adminAccess, startApiLoad, type Sample } from './api-load.js';
import { expectOk, kc, KC_BIN, testClusterName, withE2eImage, type CliResult } from './helpers.js';

/**
 * Ctrl-C in the middle of a change, for real: SIGINT to the kc process while
 * `kc create node --role master` adds a master to etcd, and while `kc
 * upgrade cluster` replaces a master's container. Each time kc must stop at
 * a safe point with exit code 130, say what it recorded, and the recovery
 * its message names must complete the change; reads through the lb go on
 * throughout, and none may fail.
 */
const engine = new DockerEngine();

/** kc in the background, as a user runs it in a terminal; SIGINT once a progress line matches `when`. */
function kcInterrupted(args: string[], when: RegExp): Promise<CliResult & { interrupted: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(KC_BIN, withE2eImage(args), { env: { ...process.env, CI: 'true' } });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!interrupted && when.test(stderr)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, interrupted }));
  });
}

/** The command a message names in backquotes, first: what the user runs next. */
function namedCommand(message: string, verb: string): string[] {
  const command = [...message.matchAll(/`(kc [^`]+)`/g)].map((m) => m[1] ?? '').find((c) => c.startsWith(`kc ${verb}`));
  if (!command) throw new Error(`the message names no \`kc ${verb}\`:\n${message}`);
  return command.split(/\s+/).slice(1);
}

async function etcdMembers(cluster: string): Promise<string[]> {
  const state = await loadState(cluster);
  if (!state) throw new Error(`no state of ${cluster}`);
  const via = state.plan.masters[0];
  if (!via) throw new Error('no master');
  const members = parseMemberList(await execOrThrow(engine, via.name, etcdctlCommand(state.plan, ['member', 'list', '-w', 'json'], 'https://127.0.0.1:2379')));
  return members.map((m) => `${m.name || '(unstarted)'}:${m.isLearner ? 'learner' : 'voter'}`).sort();
}

/** Reads and writes through the lb while `work` runs; every sample after. */
async function underLoad(kubeconfig: string, context: string, work: () => Promise<void>): Promise<Sample[]> {
  const load = startApiLoad(await adminAccess(kubeconfig, context));
  try {
    await work();
  } finally {
    const samples = await load.stop();
    // For the report either way: what the loop saw.
    process.stderr.write(`  ${samples.length} requests through the lb: ${samples.filter((s) => s.kind === 'read').length} reads (${samples.filter((s) => s.kind === 'read' && !s.ok).length} failed), ${samples.filter((s) => s.kind === 'write').length} writes (${samples.filter((s) => s.kind === 'write' && !s.ok).length} failed)\n`);
    return samples;
  }
}

/**
 * A cluster of one test: made before it (after `prepare`, with `createArgs`)
 * in a folder of its own, deleted after it whatever happened. Returns its
 * kubeconfig file, once made.
 */
function useCluster(name: string, createArgs: string[], prepare: () => Promise<unknown> = async () => undefined, minutes = 20): () => string {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-interrupt-'));
    await kc(['delete', 'cluster', '--name', name]);
    await prepare();
    await expectOk(['create', 'cluster', '--name', name, ...createArgs, '--kubeconfig', join(dir, 'kubeconfig')]);
  }, minutes * 60_000);
  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', name, '--kubeconfig', join(dir, 'kubeconfig')]);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);
  return () => join(dir, 'kubeconfig');
}

const failedReads = (samples: readonly Sample[]) => samples.filter((s) => s.kind === 'read' && !s.ok).map((s) => `+${s.started - (samples[0]?.started ?? 0)}ms: ${s.error}`);

describe('Ctrl-C in kc create node --role master, then the recovery its message names', () => {
  const NAME = testClusterName('interrupt-add');
  const kubeconfig = useCluster(NAME, ['--workers', '1']);

  it('stops at a safe point with the join journaled; running the named command again takes it back and adds the master', async () => {
    let stopped: CliResult & { interrupted: boolean } = { code: -1, stdout: '', stderr: '', interrupted: false };
    let recovered: CliResult = { code: -1, stdout: '', stderr: '' };
    const samples = await underLoad(kubeconfig(), `kc-${NAME}`, async () => {
      stopped = await kcInterrupted(['create', 'node', '--role', 'master', '--name', NAME], new RegExp(`• Adding ${NAME}-master-2 to etcd`));
      process.stderr.write(`  interrupted kc create node (exit ${stopped.code}):\n${stopped.stderr}`);
      expect(stopped.interrupted).toBe(true);
      expect(stopped.code).toBe(130);
      expect(stopped.stderr).toMatch(new RegExp(`Interrupted \\(Ctrl-C\\) during "Adding ${NAME}-master-2 to etcd": kc stopped at a safe point`));
      expect(stopped.stderr).toContain(`${NAME}-master-2 is part-way added`);
      expect((await loadState(NAME))?.journal?.move).toMatchObject({ kind: 'join', node: { name: `${NAME}-master-2` } });
      recovered = await kc(namedCommand(stopped.stderr, 'create node'));
      process.stderr.write(`  the recovery (exit ${recovered.code}):\n${recovered.stderr}`);
    });
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stderr).toContain('stopped part-way');
    const state = await loadState(NAME);
    expect(state?.journal).toBeUndefined();
    expect(state?.plan.masters.map((m) => m.name)).toEqual([`${NAME}-master-0`, `${NAME}-master-1`, `${NAME}-master-2`]);
    expect(await etcdMembers(NAME)).toEqual([`${NAME}-master-0:voter`, `${NAME}-master-1:voter`, `${NAME}-master-2:voter`]);
    expect(failedReads(samples)).toEqual([]);
    expect(samples.filter((s) => s.kind === 'read').length).toBeGreaterThan(50);
  }, 20 * 60_000);
});

const [NEWEST, PREVIOUS] = KUBERNETES_RELEASES;
const FROM = PREVIOUS?.kubernetes ?? '';
const TO = NEWEST?.kubernetes ?? '';

describe(`Ctrl-C in kc upgrade cluster (${FROM} to ${TO}), then the recovery its message names`, () => {
  const NAME = testClusterName('interrupt-up');
  // The previous minor's node image first (a cold machine builds it from its modules: about 5 minutes on 2 cores).
  const kubeconfig = useCluster(NAME, ['--workers', '1', '--kubernetes-version', FROM], () => expectOk(['build', 'node-image', '--kubernetes-version', FROM]), 45);

  it('stops while a master is replaced, says where each node is; running the upgrade again finishes it and the rest', async () => {
    let stopped: CliResult & { interrupted: boolean } = { code: -1, stdout: '', stderr: '', interrupted: false };
    let recovered: CliResult = { code: -1, stdout: '', stderr: '' };
    const samples = await underLoad(kubeconfig(), `kc-${NAME}`, async () => {
      stopped = await kcInterrupted(['upgrade', 'cluster', '--kubernetes-version', TO, '--name', NAME], new RegExp(`• Replacing ${NAME}-master-0`));
      process.stderr.write(`  interrupted kc upgrade cluster (exit ${stopped.code}):\n${stopped.stderr}`);
      expect(stopped.interrupted).toBe(true);
      expect(stopped.code).toBe(130);
      expect(stopped.stderr).toMatch(new RegExp(`Interrupted during "Replacing ${NAME}-master-0": kc stopped at a safe point`));
      expect(stopped.stderr).toContain(`The upgrade stopped: ${NAME}-master-0 was being replaced; ${NAME}-master-1, ${NAME}-worker-0 run ${FROM}.`);
      expect((await loadState(NAME))?.journal?.move).toMatchObject({ kind: 'replace', node: { name: `${NAME}-master-0` }, step: 1 });
      recovered = await kc(namedCommand(stopped.stderr, 'upgrade cluster'));
      process.stderr.write(`  the recovery (exit ${recovered.code}):\n${recovered.stderr}`);
    });
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stderr).toContain(`runs Kubernetes ${TO} (from ${FROM})`);
    const state = await loadState(NAME);
    expect(state?.journal).toBeUndefined();
    expect(state?.operation).toBeUndefined();
    expect(state?.plan.spec.kubernetesVersion).toBe(TO);
    for (const node of [...(state?.plan.masters ?? []), ...(state?.plan.workers ?? [])]) {
      expect((await engine.inspectNode(node.name))?.Config.Image, node.name).toBe(nodeImageFor(TO));
    }
    expect(await etcdMembers(NAME)).toEqual([`${NAME}-master-0:voter`, `${NAME}-master-1:voter`]);
    expect(failedReads(samples)).toEqual([]);
    expect(samples.filter((s) => s.kind === 'read').length).toBeGreaterThan(100);
  }, 40 * 60_000);
});
