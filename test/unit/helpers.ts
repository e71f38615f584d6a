import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/**
 * Gives every test of the calling file a fresh temporary folder, with kc's
 * state (KC_STATE_DIR) in its `state` subfolder, removed after the test; the
 * caller's own KC_STATE_DIR comes back. `dir` is the current test's folder.
 */
export function useTemporaryStateDir(prefix: string): { readonly dir: string } {
  let current = '';
  const saved = process.env.KC_STATE_DIR;
  beforeEach(async () => {
    current = await mkdtemp(join(tmpdir(), prefix));
    process.env.KC_STATE_DIR = join(current, 'state');
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.KC_STATE_DIR;
    else process.env.KC_STATE_DIR = saved;
    await rm(current, { recursive: true, force: true });
  });
  return {
    get dir() {
      return current;
    },
  };
}

/** A non-terminal stream (as in CI logs) that keeps what was written. */
export function capturedStream(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = {
    isTTY: false,
    write: (chunk: string) => {
      chunks.push(chunk);
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { stream, text: () => chunks.join('') };
}
