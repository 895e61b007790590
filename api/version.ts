// The routing table's version is a hash of its content: deterministic (translation is pure and
// sorted), cheap to compare, and identical across controller replicas for the same input.
import { createHash } from 'node:crypto';
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

/** Returns the table with `version` set from its content. */
export function withVersion(table: Omit<RoutingTable, 'version'>): RoutingTable {
  return { ...table, version: computeVersion(table) };
}
