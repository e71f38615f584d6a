import { connect, createServer } from 'node:net';

/**
 * A TCP port that is free on `host` right now, chosen by the kernel. kc
 * publishes node ports (the API server's first) on ports it picked itself
 * rather than letting Docker choose: Docker picks a new one each time the
 * container restarts, which would break every kubeconfig.
 */
export async function freeTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error(`could not find a free port on ${host}`));
      });
    });
  });
}

/**
 * This host's address on the way to `host:port`: the source address of a TCP
 * connection there (the kernel's route choice), which is where that host can
 * reach this one, NAT aside.
 */
export async function localAddressToward(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      const address = socket.localAddress;
      socket.destroy();
      if (address) resolve(address.replace(/^::ffff:/, ''));
      else reject(new Error(`no local address toward ${host}:${port}`));
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`${host}:${port} did not answer within ${timeoutMs / 1000}s`));
    });
    socket.once('error', reject);
  });
}
