/**
 * One time budget for a whole operation (`kc create cluster --wait`): every
 * wait inside it gets what is left, so the user's number is the most the
 * whole create waits, not the most each check waits.
 */
export class Deadline {
  private readonly endsAt: number;

  constructor(
    readonly seconds: number,
    /** How the budget was given, for timeout messages, e.g. `--wait 600`. */
    readonly origin: string,
    now: number = Date.now(),
    /** What the budget is for, for timeout messages. */
    readonly operation = 'create',
  ) {
    this.endsAt = now + seconds * 1000;
  }

  remainingMs(now: number = Date.now()): number {
    return Math.max(0, this.endsAt - now);
  }

  describe(): string {
    return `${this.origin}: ${this.seconds}s for the whole ${this.operation}`;
  }
}
