// Reads Kubernetes manifests from a file or a directory (recursively, *.yaml/*.yml/*.json) as
// multi-document YAML. A broken document is reported with its file and index and skipped; the
// other documents still load, so one typo never hides a whole directory.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../translate/snapshot.ts';
import { listManifestFiles, type LoadedObject, type ManifestProblem, type ReadResult } from './manifest-files.ts';

export { formatProblem, listManifestFiles, type LoadedObject, type ManifestProblem, type ReadResult } from './manifest-files.ts';

/** Parses one file's text; pure apart from the name it reports. */
export function parseManifests(text: string, file: string): { objects: LoadedObject[]; problems: ManifestProblem[] } {
  const objects: LoadedObject[] = [];
  const problems: ManifestProblem[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      problems.push({ file, document: index, message: doc.errors.map((e) => e.message.split('\n')[0]).join('; ') });
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // empty document (e.g. trailing ---)
    for (const [i, item] of expandLists(value).entries()) {
      const why = shapeProblem(item);
      if (why) problems.push({ file, document: index, message: i > 0 || isList(value) ? `List item ${i}: ${why}` : why });
      else objects.push({ object: defaultNamespace(item as KubeObject), file, document: index });
    }
  });
  return { objects, problems };
}

// Cluster-scoped kinds we read; every other kind defaults to namespace `default`, as kubectl does.
const CLUSTER_SCOPED = new Set(['GatewayClass', 'Namespace', 'XMesh', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);

function defaultNamespace(obj: KubeObject): KubeObject {
  if (CLUSTER_SCOPED.has(obj.kind) || obj.metadata.namespace) return obj;
  return { ...obj, metadata: { ...obj.metadata, namespace: 'default' } };
}

function isList(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'List';
}

function expandLists(value: unknown): unknown[] {
  if (isList(value)) {
    const items = (value as { items?: unknown }).items;
    return Array.isArray(items) ? items : [];
  }
  return [value];
}

function shapeProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a Kubernetes object (expected a mapping)';
  const o = value as Record<string, unknown>;
  if (typeof o.apiVersion !== 'string' || o.apiVersion === '') return 'missing apiVersion';
  if (typeof o.kind !== 'string' || o.kind === '') return 'missing kind';
  const meta = o.metadata as Record<string, unknown> | undefined;
  if (typeof meta !== 'object' || meta === null || typeof meta.name !== 'string' || meta.name === '') return `${o.kind}: missing metadata.name`;
  if (meta.namespace !== undefined && typeof meta.namespace !== 'string') return `${o.kind} ${meta.name}: metadata.namespace must be a string`;
  return null;
}

/** Parses a file's text; manifest-cache.ts's ManifestCache reuses unchanged documents. */
export interface ManifestParser {
  parse(text: string, file: string): { objects: LoadedObject[]; problems: ManifestProblem[] };
  retain?(files: readonly string[]): void;
}

/**
 * Reads every manifest under `path`. Rejects only when `path` itself cannot be read. `parser`
 * (default: each file parsed whole) is told which files were listed.
 */
export async function readManifests(path: string, parser?: ManifestParser): Promise<ReadResult> {
  const files = await listManifestFiles(path);
  const result: ReadResult = { objects: [], problems: [], files };
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      result.problems.push({ file, document: 0, message: `cannot read: ${(err as Error).message}` });
      continue;
    }
    const parsed = parser ? parser.parse(text, file) : parseManifestFile(text, file);
    result.objects.push(...parsed.objects);
    result.problems.push(...parsed.problems);
  }
  parser?.retain?.(files);
  return result;
}

/** One file's text, parsed as its extension says (.json, else YAML). */
export function parseManifestFile(text: string, file: string): { objects: LoadedObject[]; problems: ManifestProblem[] } {
  return extname(file) === '.json' ? parseJson(text, file) : parseManifests(text, file);
}

function parseJson(text: string, file: string): { objects: LoadedObject[]; problems: ManifestProblem[] } {
  // JSON is YAML 1.2, but a parse error message from JSON.parse is clearer for .json files.
  try {
    JSON.parse(text);
  } catch (err) {
    return { objects: [], problems: [{ file, document: 0, message: (err as Error).message }] };
  }
  return parseManifests(text, file);
}
