import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import { ValidationError } from './validate.js';

/**
 * A YAML decoder whose every error names the file, the line, the field's
 * path, the value and what is allowed. It knows nothing of kc's config: a
 * schema (v1alpha1.ts) reads the parsed document with the readers below,
 * which throw at a path; decodeYaml turns the path into a line of the file.
 */

/** Parses `text` and hands the document to `read`; its errors (and YAML's own) come back located in `source`. */
export function decodeYaml<T>(text: string, source: string, read: (root: unknown) => T): T {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const syntaxError = doc.errors[0];
  if (syntaxError) throw yamlError(syntaxError, source);
  try {
    // An empty file (or a bare `~`) is null: reported as empty, not as a wrong type.
    const root: unknown = doc.toJS();
    return read(root ?? undefined);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    const line = lineOf(doc, lines, error.path);
    return error.rethrowAt(line === undefined ? source : `${source}:${line}`);
  }
}

// ---- errors -------------------------------------------------------------

export type Path = readonly (string | number)[];

/** `nodes[1].extraPortMappings[0].hostPort`; odd keys (dots, spaces) are quoted: `featureGates["a.b"]`. */
export function formatPath(path: Path): string {
  if (path.length === 0) return 'document';
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      if (!/^[A-Za-z0-9_-]+$/.test(segment)) return `[${JSON.stringify(segment)}]`;
      return i === 0 ? segment : `.${segment}`;
    })
    .join('');
}

/** A problem at a path in the file; parseClusterConfig adds the file name and line. */
export class FieldError extends ValidationError {
  constructor(readonly path: Path, value: unknown, allowed: string, problem?: string) {
    super(formatPath(path), value, allowed, problem === undefined ? {} : { problem });
  }

  rethrowAt(location: string): never {
    throw new ValidationError(this.field, this.value, this.allowed, { ...this.options, location });
  }
}

export function fail(path: Path, value: unknown, allowed: string): never {
  throw new FieldError(path, value, allowed);
}

/** Runs one of validate.ts's checks on the value at `path`, so its error carries the path. */
export function check<T>(path: Path, value: unknown, validate: (field: string, value: unknown) => T): T {
  try {
    return validate(formatPath(path), value);
  } catch (error) {
    // A FieldError already knows its (deeper) path.
    if (error instanceof ValidationError && !(error instanceof FieldError)) {
      throw new FieldError(path, error.value, error.allowed, error.options.problem);
    }
    throw error;
  }
}

/** Like check(), for a key that may be left out. */
export function optional<T>(path: Path, value: unknown, validate: (field: string, value: unknown) => T): T | undefined {
  return value === undefined ? undefined : check(path, value, validate);
}

function yamlError(error: YAMLError, source: string): ValidationError {
  const start = error.linePos?.[0];
  // The yaml package appends " at line L, column C:" and a snippet; the location goes up front instead.
  const [reason = error.message, snippet = ''] = error.message.split(/ at line \d+, column \d+:\n/);
  return new ValidationError('YAML', undefined, `${reason}${snippet.trimEnd() ? `\n\n${snippet.trimEnd()}` : ''}`, {
    location: start ? `${source}:${start.line}:${start.col}` : source,
    problem: ' is not valid',
  });
}

/** The line of the deepest node on `path` that exists; keys rather than values, since a nested map starts a line later. */
function lineOf(doc: Document, lines: LineCounter, path: Path): number | undefined {
  let node: unknown = doc.contents;
  let offset = isNode(node) ? node.range?.[0] : undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      offset = isNode(pair.key) ? (pair.key.range?.[0] ?? offset) : offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      offset = isNode(node) ? (node.range?.[0] ?? offset) : offset;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

// ---- generic readers ----------------------------------------------------

export type Fields = Record<string, unknown>;

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A mapping whose keys are any of `keys`; anything else is a typo or a field kc does not have. */
export function readMap(value: unknown, path: Path, keys: readonly string[]): Fields {
  if (!isFields(value)) fail(path, value, `use a mapping with keys ${keys.join(', ')}`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      const hint = closest(key, keys);
      throw new FieldError([...path, key], value[key], `use one of ${keys.join(', ')}${hint ? ` (did you mean ${hint}?)` : ''}`, ' is not a known key');
    }
  }
  return value;
}

/** A mapping with free-form keys (feature gates, flags). */
export function readRecord(value: unknown, path: Path, example: string): Fields {
  if (!isFields(value)) fail(path, value, `use a mapping such as ${example}`);
  return value;
}

export function readList(value: unknown, path: Path, example: string): unknown[] {
  if (!Array.isArray(value)) fail(path, value, `use a list such as ${example}`);
  return value;
}

export function readString(path: Path, value: unknown, example: string): string {
  if (typeof value !== 'string' || value === '') fail(path, value, `use a string such as ${example}`);
  return value;
}

export function readBoolean(path: Path, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(path, value, 'use true or false');
  return value;
}

/** A key in `keys` that is probably what the user meant: same letters ignoring case, or one or two typos off. */
function closest(key: string, keys: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  return keys.find((k) => k.toLowerCase() === lower) ?? keys.find((k) => editDistance(lower, k.toLowerCase()) <= 2);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
