// A table's version (api/version.ts: a hash of its canonical JSON) computed from the canonical
// JSON of each top-level entry, kept for as long as the entry object lives. Translation reuses
// unchanged entries by identity (incremental.ts) and endpoint patches replace only the backends
// they touch (endpoint-patch.ts), so after the first table only new entries are serialised; the
// digest is the same as withVersion()'s (versionOfChunks). Slices (controller/publish) share
// their entries with the table, so one versioner there serialises each entry once for every
// agent's slice.
// An endpoint patch's version is lazy (withLazyVersion): hashing the whole table's JSON was the
// one part of a patch that grew with the mesh (issue 14), and in the controller nothing reads a
// patched table's version (agents get slices, versioned on their own; the publisher tells a
// patch by its entries). It is still the content hash, computed on first read and kept, so it
// stays equal to computeVersion() and across replicas, for whoever does read it (tests, a dump).
import type { RoutingTable } from '../../api/routing-table.ts';
import { canonicalJson, versionOfChunks } from '../../api/version.ts';

type Content = Omit<RoutingTable, 'version'> & { version?: string };

/** What a versioner has done so far: tests pin that a patch costs what it touched. */
export interface VersionerCounts {
  /** Table entries serialised to canonical JSON (each once per object). */
  serialised: number;
  /** Versions hashed (lazy ones only when read). */
  hashed: number;
}

/** The table's own fields, version left out, without reading `version` (a lazy one stays unread). */
export function contentOf(table: Content): Omit<RoutingTable, 'version'> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(table)) if (key !== 'version') out[key] = (table as unknown as Record<string, unknown>)[key];
  return out as unknown as Omit<RoutingTable, 'version'>;
}

export class TableVersioner {
  #json = new WeakMap<object, string>();
  readonly #counts: VersionerCounts = { serialised: 0, hashed: 0 };

  get counts(): VersionerCounts {
    return { ...this.#counts };
  }

  /** canonicalJson(v), remembered per object. */
  json(v: unknown): string {
    if (v === null || typeof v !== 'object') return canonicalJson(v);
    let s = this.#json.get(v);
    if (s === undefined) {
      s = canonicalJson(v);
      this.#json.set(v, s);
      this.#counts.serialised++;
    }
    return s;
  }

  /** withVersion(table), serialising only entries this versioner has not seen. */
  withVersion(table: Content): RoutingTable {
    const content = contentOf(table);
    return { ...content, version: this.#digest(content) };
  }

  /**
   * The table with a `version` that is hashed (as withVersion does) only when first read, then
   * kept: an ordinary enumerable property to JSON, spreads and deep equality, which read it.
   * Copying fields out of the result without `version` leaves it unread (contentOf above).
   */
  withLazyVersion(table: Content): RoutingTable {
    const content = contentOf(table);
    let version: string | undefined;
    return Object.defineProperty({ ...content }, 'version', {
      enumerable: true,
      configurable: true,
      get: () => (version ??= this.#digest(content)),
    }) as RoutingTable;
  }

  #digest(content: Omit<RoutingTable, 'version'>): string {
    const chunks: string[] = [];
    const fields = content as unknown as Record<string, unknown>;
    for (const key of Object.keys(fields).filter((k) => fields[k] !== undefined).sort()) {
      chunks.push(chunks.length === 0 ? '{' : ',', JSON.stringify(key), ':');
      const value = fields[key];
      if (Array.isArray(value)) {
        chunks.push('[');
        value.forEach((v, i) => chunks.push(i === 0 ? '' : ',', this.json(v)));
        chunks.push(']');
      } else {
        chunks.push(canonicalJson(value));
      }
    }
    chunks.push(chunks.length === 0 ? '{}' : '}');
    this.#counts.hashed++;
    return versionOfChunks(chunks);
  }
}
