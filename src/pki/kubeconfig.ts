import { Document, isMap, isScalar, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';

/** One cluster + user + context, as kc writes it into a kubeconfig. */
export interface KubeconfigEntry {
  contextName: string;
  clusterName: string;
  userName: string;
  /** API server URL, e.g. `https://127.0.0.1:6443`. */
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface KubeconfigRemoval {
  text: string;
  /** False when the file had no such context (and `text` is the input unchanged). */
  removed: boolean;
}

type Section = 'clusters' | 'users' | 'contexts';
const SECTIONS: readonly Section[] = ['clusters', 'users', 'contexts'];

/** A complete, standalone kubeconfig holding just this entry. */
export function renderKubeconfig(entry: KubeconfigEntry): string {
  const doc = new Document({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: entry.clusterName, cluster: clusterFields(entry) }],
    users: [{ name: entry.userName, user: userFields(entry) }],
    contexts: [{ name: entry.contextName, context: { cluster: entry.clusterName, user: entry.userName } }],
    'current-context': entry.contextName,
    preferences: {},
  });
  return serialize(doc);
}

/**
 * Adds the entry to an existing kubeconfig (or replaces an earlier version of
 * it) and makes it the current context. The cluster and user are both named
 * after the context, ignoring `entry.clusterName`/`entry.userName`: generic
 * names like `kubernetes` or `admin` would overwrite other tools' entries.
 * Everything else in the file is kept, comments included.
 */
export function mergeKubeconfig(existing: string | undefined, entry: KubeconfigEntry): string {
  const name = entry.contextName;
  if (name === '') throw new Error('kubeconfig context name must not be empty');
  const doc = loadKubeconfig(existing);
  setIfMissing(doc, 'apiVersion', 'v1');
  setIfMissing(doc, 'kind', 'Config');
  upsertNamedEntry(doc, 'clusters', name, { cluster: clusterFields(entry) });
  upsertNamedEntry(doc, 'users', name, { user: userFields(entry) });
  upsertNamedEntry(doc, 'contexts', name, { context: { cluster: name, user: name } });
  doc.set('current-context', name);
  return serialize(doc);
}

/**
 * Removes a context, plus its cluster and user unless another context still
 * uses them. Clears `current-context` if it pointed at the removed context,
 * as kubectl does, rather than guessing which other context the user wants.
 */
export function removeFromKubeconfig(existing: string, contextName: string): KubeconfigRemoval {
  const doc = loadKubeconfig(existing);
  const contexts = doc.get('contexts');
  const target = isSeq(contexts) ? contexts.items.find((item) => entryName(item) === contextName) : undefined;
  if (!isSeq(contexts) || target === undefined) return { text: existing, removed: false };

  const { cluster, user } = contextReferences(target);
  removeNamedEntries(contexts, contextName);
  const stillReferenced = contexts.items.map(contextReferences);
  if (cluster !== undefined && !stillReferenced.some((refs) => refs.cluster === cluster)) {
    removeNamedEntriesIn(doc, 'clusters', cluster);
  }
  if (user !== undefined && !stillReferenced.some((refs) => refs.user === user)) {
    removeNamedEntriesIn(doc, 'users', user);
  }
  if (doc.get('current-context') === contextName) doc.set('current-context', '');
  return { text: serialize(doc), removed: true };
}

function clusterFields(entry: KubeconfigEntry): Record<string, string> {
  return { server: entry.server, 'certificate-authority-data': base64(entry.caPem) };
}

function userFields(entry: KubeconfigEntry): Record<string, string> {
  return { 'client-certificate-data': base64(entry.certPem), 'client-key-data': base64(entry.keyPem) };
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * kubectl's layout (sequences not indented under their key), and no line
 * folding so that long values stay on one line.
 */
function serialize(doc: Document): string {
  return doc.toString({ indentSeq: false, lineWidth: 0 });
}

function emptyKubeconfig(): Document {
  return new Document({ apiVersion: 'v1', kind: 'Config', preferences: {}, clusters: [], users: [], contexts: [], 'current-context': '' });
}

/** Parses and sanity-checks a kubeconfig, so that kc never rewrites a file it does not understand. */
function loadKubeconfig(text: string | undefined): Document {
  if (text === undefined || text.trim() === '') return emptyKubeconfig();
  const doc = parseDocument(text);
  const [firstError] = doc.errors;
  if (firstError !== undefined) throw new Error(`kubeconfig is not valid YAML: ${firstError.message}`);
  // A file holding only comments is as good as empty.
  if (doc.contents === null) return emptyKubeconfig();
  if (!isMap(doc.contents)) {
    throw new Error(`not a kubeconfig: expected a YAML mapping at the top level, found ${describeNode(doc.contents)}`);
  }
  expectFieldValue(doc, 'kind', 'Config');
  expectFieldValue(doc, 'apiVersion', 'v1');
  for (const section of SECTIONS) expectListOfMappings(doc, section);
  return doc;
}

/** kubectl tolerates a missing `kind` or `apiVersion`, so only a present, different value is an error. */
function expectFieldValue(doc: Document, field: string, expected: string): void {
  const value: unknown = doc.get(field);
  if (value === undefined || value === null || value === expected) return;
  throw new Error(`not a kubeconfig: ${field} is ${JSON.stringify(value)}, expected ${JSON.stringify(expected)}`);
}

function expectListOfMappings(doc: Document, section: Section): void {
  const value: unknown = doc.get(section);
  if (value === undefined || value === null) return;
  if (!isSeq(value)) throw new Error(`not a kubeconfig: "${section}" must be a list, found ${describeNode(value)}`);
  if (!value.items.every((item) => isMap(item))) {
    throw new Error(`not a kubeconfig: every entry of "${section}" must be a mapping`);
  }
}

function describeNode(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  if (isScalar(node)) return `the scalar ${JSON.stringify(node.value)}`;
  return JSON.stringify(node);
}

function setIfMissing(doc: Document, field: string, value: string): void {
  const current: unknown = doc.get(field);
  if (current === undefined || current === null) doc.set(field, value);
}

function entryName(item: unknown): unknown {
  return isMap(item) ? item.get('name') : undefined;
}

function contextReferences(item: unknown): { cluster?: string; user?: string } {
  const context: unknown = isMap(item) ? item.get('context') : undefined;
  if (!isMap(context)) return {};
  const cluster: unknown = context.get('cluster');
  const user: unknown = context.get('user');
  return {
    cluster: typeof cluster === 'string' ? cluster : undefined,
    user: typeof user === 'string' ? user : undefined,
  };
}

/** The section's list, created if the file has none (or has `null` there). */
function sectionList(doc: Document, section: Section): YAMLSeq {
  const existing: unknown = doc.get(section);
  if (isSeq(existing)) return existing;
  const created = new Document().createNode([]) as YAMLSeq;
  doc.set(section, created);
  return created;
}

/**
 * Replaces the first entry with this name in place (so the file's order is
 * kept) and drops any later duplicates, so that merging twice changes nothing.
 */
function upsertNamedEntry(doc: Document, section: Section, name: string, fields: Record<string, unknown>): void {
  const list = sectionList(doc, section);
  const node = doc.createNode({ name, ...fields }) as YAMLMap;
  const first = list.items.findIndex((item) => entryName(item) === name);
  if (first === -1) {
    // `clusters: []` is a flow sequence; new entries must not inherit that style.
    if (list.items.length === 0) list.flow = false;
    list.items.push(node);
    return;
  }
  list.items[first] = node;
  list.items = list.items.filter((item, index) => index <= first || entryName(item) !== name);
}

function removeNamedEntries(list: YAMLSeq, name: string): void {
  list.items = list.items.filter((item) => entryName(item) !== name);
}

function removeNamedEntriesIn(doc: Document, section: Section, name: string): void {
  const list: unknown = doc.get(section);
  if (isSeq(list)) removeNamedEntries(list, name);
}
