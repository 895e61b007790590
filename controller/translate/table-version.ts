// A table's version (api/version.ts: a hash of its canonical JSON) computed from the canonical
// JSON of each top-level entry, kept for as long as the entry object lives. Translation reuses
// unchanged entries by identity (incremental.ts) and endpoint patches replace only the backends
// they touch (endpoint-patch.ts), so after the first table only new entries are serialised; the
// digest is the same as withVersion()'s (versionOfChunks). Slices (controller/publish) share
// their entries with the table, so one versioner there serialises each entry once for every
// agent's slice.
import type { RoutingTable } from '../../api/routing-table.ts';
import { canonicalJson, versionOfChunks } from '../../api/version.ts';

export class TableVersioner {
  #json = new WeakMap<object, string>();

  /** canonicalJson(v), remembered per object. */
  json(v: unknown): string {
    if (v === null || typeof v !== 'object') return canonicalJson(v);
    let s = this.#json.get(v);
    if (s === undefined) {
      s = canonicalJson(v);
      this.#json.set(v, s);
    }
    return s;
  }

  /** withVersion(table), serialising only entries this versioner has not seen. */
  withVersion(table: Omit<RoutingTable, 'version'> & { version?: string }): RoutingTable {
    const chunks: string[] = [];
    const content = table as unknown as Record<string, unknown>;
    for (const key of Object.keys(content).filter((k) => k !== 'version' && content[k] !== undefined).sort()) {
      chunks.push(chunks.length === 0 ? '{' : ',', JSON.stringify(key), ':');
      const value = content[key];
      if (Array.isArray(value)) {
        chunks.push('[');
        value.forEach((v, i) => chunks.push(i === 0 ? '' : ',', this.json(v)));
        chunks.push(']');
      } else {
        chunks.push(canonicalJson(value));
      }
    }
    chunks.push(chunks.length === 0 ? '{}' : '}');
    const { version: _old, ...rest } = table;
    return { ...(rest as Omit<RoutingTable, 'version'>), version: versionOfChunks(chunks) };
  }
}
