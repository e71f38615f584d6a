import { messageOf } from '../../util/errors.js';
import type { Progress, StepNote } from '../../util/progress.js';

/**
 * What a node change has done so far, as the steps that take it back: run in
 * reverse order when a later step fails, so the cluster ends as it was.
 * An undo that fails too is reported (the user must know what is left),
 * never hidden behind the first error.
 */
export class UndoLog {
  private readonly entries: { what: string; undo: () => Promise<void> }[] = [];

  /** Records how to take back something just done; `what` says it in the user's words. */
  push(what: string, undo: () => Promise<void>): void {
    this.entries.push({ what, undo });
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** Undoes everything recorded, newest first; returns what could not be undone. */
  async rollBack(): Promise<string[]> {
    const failed: string[] = [];
    for (const entry of this.entries.reverse()) {
      try {
        await entry.undo();
      } catch (error) {
        failed.push(`${entry.what}: ${messageOf(error)}`);
      }
    }
    this.entries.length = 0;
    return failed;
  }
}

/** A node change that failed: names the step and its cause, and says whether the cluster is as it was. */
export class NodeChangeError extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
    undoFailures: string[],
    readonly nextStep: string,
  ) {
    super(
      `${step} failed: ${messageOf(cause)}\n` +
        (undoFailures.length === 0
          ? 'Everything this command changed was taken back: the cluster is as it was.'
          : `Taking the change back failed too:\n  ${undoFailures.join('\n  ')}\n${nextStep}`),
      { cause },
    );
    this.name = 'NodeChangeError';
  }
}

/**
 * One step of a node change as one progress line; when it fails, everything
 * the change logged so far is taken back and the error says how that went.
 */
export async function changeStep<T>(progress: Progress, undo: UndoLog, title: string, nextStep: string, work: (note: StepNote) => Promise<T>): Promise<T> {
  try {
    return await progress.step(title, work);
  } catch (error) {
    throw new NodeChangeError(title, error, await undo.rollBack(), nextStep);
  }
}
