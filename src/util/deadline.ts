/**
 * One time budget for a whole operation (`kc create cluster --wait`): every
 * wait inside it gets what is left, so the user's number is the most the
 * whole create waits, not the most each check waits.
 *
 * The user's interrupt (Ctrl-C) ends it early: a wait is always a safe point
 * to stop at, since it only looks.
 *
 * It also keeps the stretches of time in which at least one wait was
 * running, so a benchmark can tell time spent waiting for components from
 * kc's own work (overlapping waits count once).
 */
export class Deadline {
  private readonly endsAt: number;
  /** Disjoint, sorted [start, end) stretches in which some wait ran. */
  private waits: Array<[number, number]> = [];

  constructor(
    readonly seconds: number,
    /** How the budget was given, for timeout messages, e.g. `--wait 600`. */
    readonly origin: string,
    now: number = Date.now(),
    /** What the budget is for, for timeout messages. */
    readonly operation = 'create',
    /** Raised when the user interrupts the operation: every wait on this budget then ends at once (see util/interrupt.ts). */
    readonly signal?: AbortSignal,
  ) {
    this.endsAt = now + seconds * 1000;
  }

  remainingMs(now: number = Date.now()): number {
    return Math.max(0, this.endsAt - now);
  }

  describe(): string {
    return `${this.origin}: ${this.seconds}s for the whole ${this.operation}`;
  }

  /** Records that a wait ran from `start` to `end` (milliseconds since the epoch). */
  recordWait(start: number, end: number): void {
    if (end <= start) return;
    const merged: Array<[number, number]> = [];
    let current: [number, number] = [start, end];
    for (const stretch of this.waits) {
      if (stretch[1] < current[0] || stretch[0] > current[1]) merged.push(stretch);
      else current = [Math.min(stretch[0], current[0]), Math.max(stretch[1], current[1])];
    }
    merged.push(current);
    this.waits = merged.sort((a, b) => a[0] - b[0]);
  }

  /** Milliseconds in which at least one wait was running. */
  waitedMs(): number {
    return this.waits.reduce((sum, [start, end]) => sum + end - start, 0);
  }
}
