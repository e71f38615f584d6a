import type { Provider } from '../provider/provider.js';
import { PATHS } from '../components/paths.js';
import type { ClusterPlan } from '../model/plan.js';

/** Where kc puts the admin kubeconfig on the first master, to run kubectl there. */
export const ADMIN_KUBECONFIG_ON_NODE = `${PATHS.kubeconfigs}/admin.kubeconfig`;

/** Runs kubectl on the first master as admin (the host need not have kubectl). */
export function kubectl(engine: Provider, plan: ClusterPlan, args: string[], input?: string): Promise<string> {
  const master = plan.masters[0];
  if (!master) throw new Error('internal: a cluster without masters');
  return engine.execOrThrow(master.name, ['kubectl', '--kubeconfig', ADMIN_KUBECONFIG_ON_NODE, ...args], input);
}
