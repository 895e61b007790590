// The routing table's version is a hash of its content: deterministic (translation is pure and
// sorted), cheap to compare, and identical across controller replicas for the same input.
import { createHash, hash } from 'node:crypto';
import type { RoutingTable } from './routing-table.ts';

/** JSON with object keys sorted, so the hash does not depend on property insertion order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

export function computeVersion(table: Omit<RoutingTable, 'version'> & { version?: string }): string {
  const { version: _ignored, ...content } = table;
  return createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 16);
}

/**
 * computeVersion() from the canonical JSON already cut into pieces (their concatenation is
 * canonicalJson(content)): the same digest, for callers that reuse the JSON of unchanged parts.
 */
export function versionOfChunks(chunks: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  return hash.digest('hex').slice(0, 16);
}

/**
 * The entry rule (ADR 0025): a version that starts `e1.` is the hash of each top-level field's
 * canonical JSON, arrays as the SHA-256 of each of their entries' canonical JSON, not of the whole
 * table's JSON. An entry's digest is kept by the entry object (tables are never changed in place:
 * a change is a new object), so a changed entry shared by 1 000 slices is hashed once, and each
 * slice's version then costs one hash of a few digests instead of one over its whole JSON. A
 * version without the prefix is the whole-JSON rule (computeVersion): both are checked by their
 * own rule (checkedVersion), so tables of controllers that predate the rule still validate.
 */
export const ENTRY_RULE = 'e1';
const ENTRY_PREFIX = `${ENTRY_RULE}.`;

const entryDigests = new WeakMap<object, string>();
let digestsComputed = 0;

/** Entries hashed so far in this process (tests pin that a shared entry is hashed once). */
export function entryDigestsComputed(): number {
  return digestsComputed;
}

/** SHA-256 (base64) of an entry's canonical JSON, once per entry object; `json` may be a caching serialiser giving the same text. */
export function entryDigest(entry: object, json: (v: unknown) => string = canonicalJson): string {
  let d = entryDigests.get(entry);
  if (d === undefined) {
    d = hash('sha256', json(entry), 'base64');
    entryDigests.set(entry, d);
    digestsComputed++;
  }
  return d;
}

/**
 * A list's part of an entry-rule version: `[h<digest>,…]`, `j<json>` for an element that is not
 * an object (`h` a digest, `j` JSON: an entry that is not an object cannot pass for one that is).
 */
export function entryListPart(list: readonly unknown[], json?: (v: unknown) => string): string {
  let part = '[';
  for (const x of list) part += x !== null && typeof x === 'object' ? `h${entryDigest(x, json)},` : `j${canonicalJson(x)},`;
  return `${part}]`;
}

/** How many fields RoutingTable has besides `version` (apiVersion and the five lists). */
const TABLE_FIELDS = 6;
/** The last apiVersion seen and its part of the text (one value in practice). */
let apiPart = { value: '', part: '' };

/**
 * entryVersion()'s text for a table holding exactly RoutingTable's fields (a string apiVersion and
 * five lists: every table and slice meshlet builds), without sorting the keys, serialising each
 * key and loading each field by name (a change reaching 1 000 agents versions 1 000 slices; ~5 k
 * instructions each under callgrind, ADR 0011 session 14, w14). Null for any other shape: the
 * general walk below then makes the same text.
 */
function knownFieldsText(table: Omit<RoutingTable, 'version'> & { version?: string }, listPart: (list: readonly unknown[]) => string): string | null {
  const { apiVersion, backends, gateways, policies, secrets, services } = table;
  let n = 0;
  for (const key in table) if (key !== 'version') n++;
  if (n !== TABLE_FIELDS || typeof apiVersion !== 'string' || !Array.isArray(backends) || !Array.isArray(gateways)
    || !Array.isArray(policies) || !Array.isArray(secrets) || !Array.isArray(services)) return null;
  if (apiPart.value !== apiVersion) apiPart = { value: apiVersion, part: `"apiVersion":j${JSON.stringify(apiVersion)};` };
  return `${apiPart.part}"backends":${listPart(backends)};"gateways":${listPart(gateways)};"policies":${listPart(policies)};"secrets":${listPart(secrets)};"services":${listPart(services)};`;
}

/**
 * The entry rule's version of a table's content (`version` itself ignored): for each field in
 * sorted order `"name":`, then its list's part (`listPart`, entryListPart unless the caller keeps
 * them) or `j<canonical JSON>`, then `;`; SHA-256 of that text, first 16 hex digits, after `e1.`.
 */
export function entryVersion(table: Omit<RoutingTable, 'version'> & { version?: string }, json?: (v: unknown) => string, listPart: (list: readonly unknown[]) => string = (l) => entryListPart(l, json)): string {
  const known = knownFieldsText(table, listPart);
  if (known !== null) return `${ENTRY_PREFIX}${hash('sha256', known, 'hex').slice(0, 16)}`;
  const fields = table as unknown as Record<string, unknown>;
  let s = '';
  for (const key of Object.keys(fields).sort()) {
    const value = fields[key];
    if (value === undefined || key === 'version') continue;
    s += `${JSON.stringify(key)}:`;
    // a string (apiVersion) is its own canonical JSON: no replacer walk per table
    s += Array.isArray(value) ? listPart(value) : `j${typeof value === 'string' ? JSON.stringify(value) : canonicalJson(value)}`;
    s += ';';
  }
  return `${ENTRY_PREFIX}${hash('sha256', s, 'hex').slice(0, 16)}`;
}

/** Whether a version was made by the entry rule. */
export function isEntryVersion(version: string): boolean {
  return version.startsWith(ENTRY_PREFIX);
}

/**
 * What `table.version` must be for its content, by the rule its version names: the entry rule
 * for `e1.…`, the whole-JSON rule for a plain hash; an error (a clear refusal, not a silent
 * mismatch) for a rule this end does not know (`<rule>.…` of a newer controller).
 */
export function checkedVersion(table: RoutingTable): { expected: string } | { error: string } {
  const v = table.version;
  if (isEntryVersion(v)) return { expected: entryVersion(table) };
  const rule = /^([a-z][a-z0-9]*)\./.exec(v);
  if (rule) return { error: `is made by version rule '${rule[1]}', which this end does not know (it knows '${ENTRY_RULE}' and plain content hashes)` };
  return { expected: computeVersion(table) };
}

/** Returns the table with `version` set from its content. */
export function withVersion(table: Omit<RoutingTable, 'version'>): RoutingTable {
  return { ...table, version: computeVersion(table) };
}
