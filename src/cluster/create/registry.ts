import type { CreateInput, Secured, Step } from './context.js';
import { attachClusterRegistry, checkRegistryPort } from '../registry/registry.js';

/**
 * Before anything is created, and outside --wait (a first build takes a
 * minute or two): the registry's image is present, and its port is either
 * the shared registry's already or free for it.
 */
export const ensureRegistry: Step<CreateInput, void> = {
  title: 'Ensuring registry image',
  async run({ engine, registries, spec, progress, ensureRegistryImage, portIsFree }, note) {
    const image = await ensureRegistryImage(engine, progress.nested());
    const port = await checkRegistryPort(registries, spec, portIsFree);
    note(`${image}; localhost:${spec.registryPort} ${port === 'shared' ? 'is served by the registry already there' : 'is free'}`);
  },
};

/** The registry running and on the cluster's network, where every node's containerd pulls `localhost:<port>/...` from. */
export const startRegistry: Step<Secured, void> = {
  title: 'Starting registry',
  creates: true,
  async run({ registries, plan }, note) {
    note(await attachClusterRegistry(registries, plan));
  },
};
