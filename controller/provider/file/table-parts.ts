// How file mode's translation loop hands a routing table to the thread that serves requests: as
// JSON text in slices (TableParts), which that thread parses one at a time between requests.
// Route rules the serving thread already holds are not sent again: an edit of one route in a
// Service frontend that holds 1 001 of them made the whole frontend new, and the worker wrote,
// and the serving thread parsed, all 1 001 rules' JSON on every edit (~4.5 ms of CPU of the ~13
// of a one-route edit at 1 000 routes, issue 16). Translation hands back an unchanged route's
// rules as the same objects, so the encoder numbers each rule object it sends and, in the next
// table, writes a number in place of a rule it sent in the last one; the decoder keeps the last
// table's rules by number and puts the same objects back. Both sides keep exactly the rules of
// the last table, so what they hold stays the table's size. A table is decoded in full even when
// a newer one supersedes it before it is applied, so the two sides never disagree on what the
// serving thread holds; if they ever do (a bug), the decoder throws and the source asks the loop
// for the table again, whole (`resend`).
import type { RouteRuleIR, RoutingTable, ServiceFrontendIR, VirtualHostIR } from '../../../api/routing-table.ts';

/**
 * A table as JSON text in slices: `head` is the table without its services and backends, which
 * follow in `parts` of at most PART_ITEMS each. In `services`, a rule is either `[n, rule]` (rule
 * number n, new) or `n` (the rule numbered n in this table or the last one of the same `stream`).
 */
export interface TableParts {
  head: string;
  services: string[];
  backends: string[];
  /** The encoder's identity: a decoder meeting a new stream forgets the rules of the last one. */
  stream: number;
}

const PART_ITEMS = 500;

type EncodedRule = number | [number, RouteRuleIR];

/** How many characters JSON writes a rule number (a non-negative integer) in. */
function digits(n: number): number {
  let d = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) d++;
  return d;
}

function slices<T>(items: readonly T[], replacer?: (key: string, value: unknown) => unknown): string[] {
  const out: string[] = [];
  for (let i = 0; i < items.length; i += PART_ITEMS) out.push(JSON.stringify(items.slice(i, i + PART_ITEMS), replacer as never));
  return out;
}

/** The rules lists of a frontend, in a fixed order (the decoder's walk; the encoder's needs none). */
function virtualHostsOf(s: ServiceFrontendIR): VirtualHostIR[] {
  const out: VirtualHostIR[] = [];
  for (const p of s.ports) {
    if (p.producer) out.push(...p.producer.virtualHosts);
    for (const c of p.consumers) out.push(...c.routes.virtualHosts);
  }
  return out;
}

/** The worker's side: one per loop (a restarted loop is a new stream). */
export class TablePartsEncoder {
  readonly stream = Math.floor(Math.random() * 2 ** 31);
  /** The rules of the last table encoded for real (not a dry run), by object: their numbers. */
  #held = new Map<RouteRuleIR, number>();
  /** Each rule's own JSON length, to tell the table's whole length (see encode). */
  readonly #ruleBytes = new WeakMap<RouteRuleIR, number>();
  #nextNumber = 0;

  /** Forgets what the decoder holds: the next table is sent whole (after the decoder asked, `resend`). */
  reset(): void {
    this.#held = new Map();
  }

  /**
   * The table's parts, and `bytes`: the length of its JSON written whole, exactly
   * (JSON.stringify(table).length, UTF-16 units: bytes for ASCII), whatever the decoder holds:
   * what the source decides by (file-table-source.ts). The parts' own length is not it: a rule
   * held is a number there, and a rule shared by several frontends (a route with several
   * parents) is written once. `dryRun`: the same work, nothing remembered (the start's
   * rehearsal: that table is never sent).
   */
  encode(table: RoutingTable, dryRun = false): { parts: TableParts; bytes: number } {
    const held = this.#held;
    const now = new Map<RouteRuleIR, number>();
    let next = this.#nextNumber;
    /** Whole length minus written length over the rules: a rule's own length in place of its number, `[n,` and `]` not counted. */
    let unwritten = 0;
    const rule = (r: RouteRuleIR): EncodedRule => {
      let own = this.#ruleBytes.get(r);
      if (own === undefined) {
        own = JSON.stringify(r).length;
        this.#ruleBytes.set(r, own);
      }
      let n = now.get(r);
      if (n === undefined) {
        n = held.get(r);
        if (n === undefined) {
          n = next++;
          now.set(r, n);
          unwritten -= digits(n) + 3;
          return [n, r];
        }
        now.set(r, n);
      }
      unwritten += own - digits(n);
      return n;
    };
    // Only a virtual host's rules (the holder names a hostname): the lists decode() walks.
    const replacer = function (this: unknown, key: string, value: unknown): unknown {
      return key === 'rules' && Array.isArray(value) && typeof (this as Partial<VirtualHostIR>).hostname === 'string' ? (value as RouteRuleIR[]).map(rule) : value;
    };
    const parts: TableParts = {
      head: JSON.stringify({ ...table, services: [], backends: [] }),
      services: slices(table.services, replacer),
      backends: slices(table.backends),
      stream: this.stream,
    };
    // The head holds `"services":[]` and `"backends":[]`; written whole, each list's items go
    // between those brackets, commas between slices' items where each slice has its own brackets.
    const items = (list: string[]): number => list.reduce((n, part) => n + part.length - 2, 0) + Math.max(0, list.length - 1);
    const bytes = parts.head.length + items(parts.services) + unwritten + items(parts.backends);
    if (!dryRun) {
      this.#held = now;
      this.#nextNumber = next;
    }
    return { parts, bytes };
  }
}

/** The serving thread's side: one per source. */
export class TablePartsDecoder {
  #stream: number | null = null;
  /** The last decoded table's rules by number. */
  #held = new Map<number, RouteRuleIR>();
  /** The table being decoded: its rules by number so far. */
  #next = new Map<number, RouteRuleIR>();

  /** Starts a table of `stream`; its services slices go to services(), in order, then end(). */
  begin(stream: number): void {
    if (stream !== this.#stream) {
      this.#stream = stream;
      this.#held = new Map();
    }
    this.#next = new Map();
  }

  /** One services slice, its rules put back (new ones first, so a number may come before its rule in the text). */
  services(slice: string): ServiceFrontendIR[] {
    const services = JSON.parse(slice) as ServiceFrontendIR[];
    const hosts = services.flatMap(virtualHostsOf);
    for (const vh of hosts) {
      for (const r of vh.rules as unknown as EncodedRule[]) if (Array.isArray(r)) this.#next.set(r[0], r[1]);
    }
    for (const vh of hosts) {
      const rules = vh.rules as unknown as EncodedRule[];
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i]!;
        if (Array.isArray(r)) {
          rules[i] = r[1] as never;
          continue;
        }
        let known = this.#next.get(r);
        if (known === undefined) {
          known = this.#held.get(r);
          if (known === undefined) throw new Error(`rule ${r} of stream ${this.#stream} is not held here`);
          this.#next.set(r, known);
        }
        rules[i] = known as never;
      }
    }
    return services;
  }

  /** The table is decoded: its rules are what the next one may refer to. */
  end(): void {
    this.#held = this.#next;
    this.#next = new Map();
  }

  /** After a failure: hold nothing (the next table must come whole, see TablePartsEncoder.reset). */
  forget(): void {
    this.#held = new Map();
    this.#next = new Map();
    this.#stream = null;
  }
}
