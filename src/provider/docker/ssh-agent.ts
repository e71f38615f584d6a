import { Agent, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel } from 'ssh2';
import { SshDialStdioError } from '../engine-failure.js';

/** Where, and as whom, kc logs in to reach an engine over ssh. */
export interface SshTarget {
  /** A name or address as ssh takes it: an IPv6 address without brackets. */
  host: string;
  port: number;
  username: string;
}

/** The docker CLI's own way through ssh: the engine's API on the command's stdin and stdout. */
const DIAL_STDIO = 'docker system dial-stdio';

/**
 * An HTTP agent whose connections are `docker system dial-stdio` on the
 * engine's machine, over ssh, logged in with the keys of the user's ssh agent
 * (as the docker CLI does for ssh:// hosts). kc has its own because
 * docker-modem's ssh mode builds each request's URL from the bare host name
 * ("ssh:HOST:PORTHOST"), which Node warns about and will refuse one day
 * (apocas/docker-modem#184); with this agent the client speaks plain HTTP to
 * `http://HOST:PORT`, a URL Node reads, and only the agent knows about ssh.
 */
export class SshDialAgent extends Agent {
  constructor(
    readonly target: SshTarget,
    /** The ssh agent's socket (SSH_AUTH_SOCK); undefined: no keys to offer. */
    private readonly authAgent: string | undefined,
  ) {
    super();
  }

  /** One ssh connection per HTTP connection, as docker-modem's ssh mode has it. */
  override createConnection(_options: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): undefined {
    const ssh = new Client();
    let channel: ClientChannel | undefined;
    let failed = false;
    const fail = (error: Error) => {
      ssh.end();
      if (failed) return;
      failed = true;
      // Before the channel is handed over, the request waits for it; after, the request reads from it.
      if (channel) failChannel(channel, error);
      // Node's http takes the error alone (its types ask for a stream too).
      else (callback as ((error: Error) => void) | undefined)?.(error);
    };
    ssh
      .once('ready', () => {
        ssh.exec(DIAL_STDIO, (error, opened) => {
          if (error) return fail(error);
          channel = opened;
          reportStderr(opened);
          opened.once('close', () => ssh.end());
          callback?.(null, opened);
        });
      })
      .on('error', fail)
      .connect({ ...this.target, agent: this.authAgent });
    return undefined;
  }
}

/**
 * dial-stdio writes to stderr only when it cannot reach the engine (no
 * docker command, a user outside the docker group): its words become the
 * request's error instead of an empty answer.
 */
function reportStderr(channel: ClientChannel): void {
  channel.stderr.once('data', (chunk: Buffer) => failChannel(channel, new SshDialStdioError(chunk.toString())));
}

/** ssh2's channel.destroy() takes no error: the request reading the channel learns of it from an 'error' event. */
function failChannel(channel: ClientChannel, error: Error): void {
  if (channel.listenerCount('error') > 0) channel.emit('error', error);
  channel.destroy();
}
