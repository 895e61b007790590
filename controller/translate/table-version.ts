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

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;
const isArrayIndex = (k: string): boolean => ARRAY_INDEX.test(k) && Number(k) < 2 ** 32 - 1;

/**
 * The order canonicalJson's replacer leaves an object's keys in: it copies them sorted into a new
 * object, whose own keys then enumerate array indexes first, in numeric order (ECMAScript's
 * OrdinaryOwnPropertyKeys), then the rest as sorted.
 */
function sortedKeys(rec: Record<string, unknown>): string[] {
  const keys = Object.keys(rec).sort();
  if (!keys.some(isArrayIndex)) return keys;
  return [...keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b)), ...keys.filter((k) => !isArrayIndex(k))];
}

/** open + pieces separated by commas + close: one flat copy, or appended (see TableVersioner's #write). */
function joined(open: string, pieces: string[], close: string, flat: boolean): string {
  if (flat) return open + pieces.join(',') + close;
  let out = open;
  for (let i = 0; i < pieces.length; i++) out += i === 0 ? pieces[i] : `,${pieces[i]}`;
  return out + close;
}

export class TableVersioner {
  #json = new WeakMap<object, string>();
  /** The canonical JSON of each element of a `rules` list seen inside an entry (see json()). */
  #ruleJson = new WeakMap<object, string>();
  readonly #counts: VersionerCounts = { serialised: 0, hashed: 0 };
  #rulesSerialised = 0;

  get counts(): VersionerCounts {
    return { ...this.#counts };
  }

  /** Elements of `rules` lists serialised so far (each once per object; tests pin an edit's cost). */
  get rulesSerialised(): number {
    return this.#rulesSerialised;
  }

  /**
   * canonicalJson(v), remembered per object. An entry is written here rather than by
   * canonicalJson so that each element of a `rules` list inside it (a virtual host's rules, a
   * policy's) is serialised once per object and remembered too: a Service frontend that holds
   * 1 001 routes is a new object after an edit of one of them, but translation hands back the
   * other 1 000 rules as the same objects, so only the edited rule is serialised again (its
   * canonical JSON was ~35 % of a one-route change at 1 000 routes in one frontend, issue 16).
   * The text is exactly canonicalJson(v)'s (table-version.test.ts).
   */
  json(v: unknown): string {
    if (v === null || typeof v !== 'object') return canonicalJson(v);
    let s = this.#json.get(v);
    if (s === undefined) {
      s = this.#write(v, '', false) ?? canonicalJson(v);
      this.#json.set(v, s);
      this.#counts.serialised++;
    }
    return s;
  }

  #rule(v: unknown): string {
    if (v === null || typeof v !== 'object') return this.#write(v, '', true) ?? 'null';
    let s = this.#ruleJson.get(v);
    if (s === undefined) {
      s = this.#write(v, '', true) ?? 'null';
      this.#ruleJson.set(v, s);
      this.#rulesSerialised++;
    }
    return s;
  }

  /**
   * JSON.stringify(v, the canonical replacer) written out: keys sorted, undefined, functions and
   * symbols left out of objects and null in arrays, non-finite numbers null; an object with its
   * own toJSON (none in a table) and a BigInt (which throws) go to canonicalJson itself.
   * `key`: the property v is the value of ('' in arrays and at the top). `flat`: joined into one
   * flat string (a rule's, kept and copied into every later table's JSON) rather than appended
   * (a tree of pieces, cheap to build around a big rules list and flattened once, by the hash: one
   * join per level copied the 0.5 MB of a 1 001-rule frontend at each of its six levels).
   */
  #write(v: unknown, key: string, flat: boolean): string | undefined {
    switch (typeof v) {
      case 'string': return JSON.stringify(v);
      case 'number': return JSON.stringify(v);
      case 'boolean': return v ? 'true' : 'false';
      case 'object': break;
      case 'bigint': return canonicalJson(v);
      default: return undefined;
    }
    if (v === null) return 'null';
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return canonicalJson(v);
    const pieces: string[] = [];
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) pieces.push(key === 'rules' ? this.#rule(v[i]) : this.#write(v[i], '', flat) ?? 'null');
      return joined('[', pieces, ']', flat);
    }
    const rec = v as Record<string, unknown>;
    for (const k of sortedKeys(rec)) {
      const s = this.#write(rec[k], k, flat);
      if (s !== undefined) pieces.push(`${JSON.stringify(k)}:${s}`);
    }
    return joined('{', pieces, '}', flat);
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
