import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly outputTail: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Append all output here (long builds keep a full log next to their result). */
  logFile?: string;
  input?: string;
}

const TAIL_LINES = 25;

/** Runs a program to completion; on failure the error carries the last lines of its output. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
    const chunks: Buffer[] = [];
    const collect = (chunk: Buffer) => {
      chunks.push(chunk);
      log?.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) => {
      log?.end();
      reject(new CommandError(`cannot run ${command}: ${err.message}`, null, ''));
    });
    child.on('close', (code) => {
      log?.end();
      const output = Buffer.concat(chunks).toString('utf8');
      if (code === 0) {
        resolve(output);
        return;
      }
      const tail = output.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
      reject(new CommandError(`${command} ${args.join(' ')} exited with ${code}`, code, tail));
    });
    // A program that exits without reading its input closes the pipe: that is its business, not an error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
