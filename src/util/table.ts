/**
 * Rows of a listing for a person or for a program, as kubectl and kind print
 * them: on a terminal a header row and columns padded to line up; elsewhere
 * (a pipe, a file) or when asked, tab-separated values with no header, so
 * `cut -f1` gives the first column.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], withHeaders: boolean): string {
  if (!withHeaders) return rows.map((row) => row.join('\t').trimEnd()).join('\n');
  const all = [headers, ...rows];
  const widths = headers.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('   ').trimEnd()).join('\n');
}
