import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const execFileAsync = promisify(execFile);
export const KC_BIN = fileURLToPath(new URL('../../bin/kc', import.meta.url));

/**
 * A test cluster's name: KC_E2E_PREFIX (e.g. `ly-`) in front, so that
 * several people can run the e2e tests on one Docker engine at once.
 */
export function testClusterName(base: string): string {
  return `${process.env.KC_E2E_PREFIX ?? ''}${base}`;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The node image the e2e tests run: kc's default, or `KC_E2E_NODE_IMAGE` (a tag
 * of your own, e.g. kc/node:dev, so testing a change to the node image never
 * replaces the default image other clusters on the machine use).
 */
export const E2E_NODE_IMAGE: string | undefined = process.env.KC_E2E_NODE_IMAGE || undefined;

/**
 * `kc create cluster` and `kc build node-image` get `--image` when a test
 * image is set and the test did not name one itself.
 */
export function withE2eImage(args: string[]): string[] {
  const command = `${args[0]} ${args[1]}`;
  const usesImage = command === 'create cluster' || command === 'build node-image';
  return usesImage && E2E_NODE_IMAGE && !args.includes('--image') && !args.includes('--kubernetes-version') ? [...args, '--image', E2E_NODE_IMAGE] : args;
}

/** Runs the real kc binary, as a user would. */
export async function kc(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(KC_BIN, withE2eImage(args), {
      env: { ...process.env, CI: 'true', ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Runs kc and returns what it printed; an error with its stderr when it exits non-zero. */
export async function expectOk(args: string[]): Promise<CliResult> {
  const result = await kc(args);
  if (result.code !== 0) throw new Error(`kc ${args.join(' ')} exited with ${result.code}:\n${result.stderr}`);
  return result;
}
