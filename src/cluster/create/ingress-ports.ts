import { INGRESS_LISTEN_ADDRESS } from '../../config/defaults.js';
import type { ClusterSpec, IngressPorts } from '../../config/types.js';
import { UsageError } from '../../util/errors.js';
import { freeTcpPort } from '../../util/net.js';
import type { CreateInput, Step } from './context.js';

/**
 * Before anything is created (and before a node image build can cost
 * minutes): the ingress's host ports are free, the ones the user asked for;
 * 0 becomes a free port now, kept in the spec the cluster's state records, so
 * the lb publishes it for the cluster's life and `kc` can say where it is.
 * A port another program (or another cluster's ingress) holds is the user's
 * to fix.
 */
export const chooseIngressPorts: Step<CreateInput, { spec: ClusterSpec }> = {
  title: 'Checking ingress ports',
  async run({ spec, portIsFree }, note) {
    const asked = spec.ingressPorts;
    const taken = (['http', 'https'] as const).filter((name) => asked[name] !== 0);
    for (const name of taken) {
      if (await portIsFree(INGRESS_LISTEN_ADDRESS, asked[name])) continue;
      throw new UsageError(
        `the ingress's ${name.toUpperCase()} port ${asked[name]} on ${INGRESS_LISTEN_ADDRESS} is taken by another program (or another cluster's ingress): ` +
          'give free ones with --ingress-port HTTP/HTTPS (or ingressPorts: in the config; 0/0 picks free ones), or leave the ingress out with --disable ingress',
      );
    }
    const http = asked.http || (await freePortBut(asked.https));
    const https = asked.https || (await freePortBut(http));
    const ingressPorts: IngressPorts = { http, https };
    note(`${describeIngressPorts(ingressPorts)} ${taken.length === 0 ? 'picked' : 'are free'}`);
    return { spec: { ...spec, ingressPorts } };
  },
};

/** A free port on the ingress's address other than `other` (the kernel may hand out the same one twice). */
async function freePortBut(other: number): Promise<number> {
  for (;;) {
    const port = await freeTcpPort(INGRESS_LISTEN_ADDRESS);
    if (port !== other) return port;
  }
}

/** `127.0.0.1:80 (HTTP) and :443 (HTTPS)`. */
export function describeIngressPorts(ports: IngressPorts): string {
  return `${INGRESS_LISTEN_ADDRESS}:${ports.http} (HTTP) and :${ports.https} (HTTPS)`;
}
