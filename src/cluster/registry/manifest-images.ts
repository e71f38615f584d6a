import { parseAllDocuments } from 'yaml';

/** Keys under which a pod spec lists its containers. */
const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'];

/** Every `image` of every container list anywhere in a parsed object (Pods, Deployments, CronJobs' job templates, Lists). */
function collectImages(value: unknown, images: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectImages(item, images);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value)) {
    if (CONTAINER_LISTS.includes(key) && Array.isArray(child)) {
      for (const container of child) {
        const image = (container as { image?: unknown } | null)?.image;
        if (typeof image === 'string' && image.trim() !== '') images.add(image.trim());
      }
    }
    collectImages(child, images);
  }
}

/**
 * The images the Kubernetes objects of a YAML stream run (a manifest, or a
 * chart rendered by `helm template`, its test hooks included), in the order
 * they first appear. Pure; a document YAML cannot parse is an error naming
 * where.
 */
export function imagesOfManifests(text: string, source: string): string[] {
  const images = new Set<string>();
  for (const [index, document] of parseAllDocuments(text).entries()) {
    const problem = document.errors[0];
    if (problem) throw new Error(`${source}: document ${index + 1} is not valid YAML: ${problem.message}`);
    collectImages(document.toJSON(), images);
  }
  return [...images];
}
