/**
 * The user asked kc to stop (Ctrl-C, or a SIGTERM from a CI runner). Work
 * does not stop where it stands: each pipeline checks the signal at its safe
 * points (between steps, and inside every wait, which only looks), records
 * where it stopped and ends with this error. A second signal ends kc at once.
 */
export class InterruptedError extends Error {
  constructor(readonly signalName = 'SIGINT') {
    super(`interrupted (${signalName === 'SIGINT' ? 'Ctrl-C' : signalName})`);
    this.name = 'InterruptedError';
  }
}

/** A signal that is never raised: what a pipeline uses when its caller gives none. */
export const NEVER_INTERRUPTED: AbortSignal = new AbortController().signal;

/** A safe point: ends the work here when the user asked it to stop. */
export function stopIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interruptionOf(signal);
}

/** The error to end with once `signal` was raised (its reason, when it is one). */
export function interruptionOf(signal: AbortSignal): InterruptedError {
  return signal.reason instanceof InterruptedError ? signal.reason : new InterruptedError();
}

export function isInterruption(error: unknown): error is InterruptedError {
  return error instanceof InterruptedError;
}

/** Whether an error, or one it was caused by, is the user's interrupt: the command ends with the shell's code for it (130). */
export function wasInterrupted(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if (isInterruption(e)) return true;
  return false;
}

/**
 * Listens for SIGINT and SIGTERM for one command: the first raises the
 * returned signal (and says so on stderr), a second ends the process at once
 * with the shell's code for the signal. Returns the signal and how to stop
 * listening.
 */
export function listenForInterrupts(stderr: NodeJS.WritableStream = process.stderr): { signal: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      stderr.write(`\n${name} again: stopping at once. kc's record of the change may be a step behind; the next kc command on this cluster settles it.\n`);
      process.exit(name === 'SIGINT' ? 130 : 143);
    }
    stderr.write(`\n${name === 'SIGINT' ? 'Ctrl-C' : name}: stopping at the next safe point and recording where (press Ctrl-C again to stop at once) ...\n`);
    controller.abort(new InterruptedError(name));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    stop: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
