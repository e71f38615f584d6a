/** Polls a real check until it passes or time runs out; the check says what it saw last. */
export async function waitUntil(
  description: string,
  check: () => Promise<boolean | string>,
  options: { timeoutMs: number; intervalMs?: number; onTimeout?: () => Promise<string> },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    try {
      const result = await check();
      if (result === true) return;
      if (typeof result === 'string') last = result;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      const detail = options.onTimeout ? await options.onTimeout().catch(() => '') : '';
      throw new Error(
        `timed out after ${Math.round(options.timeoutMs / 1000)}s waiting for ${description}` +
          (last ? `; last seen: ${last}` : '') +
          (detail ? `\n${detail}` : ''),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000));
  }
}
