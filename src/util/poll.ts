import type { Deadline } from './deadline.js';
import { stopIfInterrupted } from './interrupt.js';

export type WaitOptions = WaitLimit & {
  intervalMs?: number;
  /** More to say when time runs out (a unit's journal, say). */
  onTimeout?: () => Promise<string>;
};

/** An operation's deadline (the wait ends with it at the latest), a limit of the wait's own, or both. */
type WaitLimit = { deadline: Deadline; timeoutMs?: number } | { deadline?: undefined; timeoutMs: number };

/** How long this wait may take, and how to say so when it ran out. */
function limitOf(options: WaitLimit): { ms: number; says: string } {
  if (!options.deadline) return { ms: options.timeoutMs, says: `after ${Math.round(options.timeoutMs / 1000)}s` };
  const remaining = options.deadline.remainingMs();
  if (options.timeoutMs !== undefined && options.timeoutMs <= remaining) {
    return { ms: options.timeoutMs, says: `after ${Math.round(options.timeoutMs / 1000)}s` };
  }
  return { ms: remaining, says: `(${options.deadline.describe()})` };
}

/** Polls a real check until it passes or time runs out; the check says what it saw last. */
export async function waitUntil(description: string, check: () => Promise<boolean | string>, options: WaitOptions): Promise<void> {
  const started = Date.now();
  try {
    await pollUntil(description, check, options);
  } finally {
    options.deadline?.recordWait(started, Date.now());
  }
}

async function pollUntil(description: string, check: () => Promise<boolean | string>, options: WaitOptions): Promise<void> {
  const limit = limitOf(options);
  const giveUpAt = Date.now() + limit.ms;
  let last = '';
  for (;;) {
    // A wait only looks: where the user interrupted, it is a safe point to stop at.
    stopIfInterrupted(options.deadline?.signal);
    try {
      const result = await check();
      if (result === true) return;
      if (typeof result === 'string') last = result;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() >= giveUpAt) {
      const detail = options.onTimeout ? await options.onTimeout().catch(() => '') : '';
      throw new Error(`timed out ${limit.says} waiting for ${description}` + (last ? `; last seen: ${last}` : '') + (detail ? `\n${detail}` : ''));
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000));
  }
}
