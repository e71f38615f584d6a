import { createServer } from 'node:net';

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
