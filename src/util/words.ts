/** `1 master`, `2 masters`: a count and its noun, singular for one. */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
