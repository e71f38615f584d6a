import { coreDnsManifest } from '../../components/coredns.js';
import { apiServerToKubeletRbac } from '../../components/rbac.js';
import type { Networking, Step } from '../context.js';
import { kubectl } from '../kubectl.js';

/** RBAC for API server → kubelet (logs, exec) and CoreDNS, applied with kubectl on the first master. */
export const installAddons: Step<Networking, void> = {
  title: 'Installing RBAC and CoreDNS',
  async run(ctx, note) {
    await kubectl(ctx.engine, ctx.plan, ['apply', '-f', '-'], apiServerToKubeletRbac());
    await kubectl(ctx.engine, ctx.plan, ['apply', '-f', '-'], coreDnsManifest(ctx.plan));
    note('applied');
  },
};
