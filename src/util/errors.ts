/**
 * An error the user caused or can fix (a bad flag, a name already taken):
 * printed without a stack trace, exit code 2. It lives at the bottom so that
 * pipelines can raise it without importing the CLI.
 */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** The message of anything thrown: errors by their message, anything else as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
