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
  /** Each rule's own JSON length, to tell the table's full size (see encode). */
  readonly #ruleBytes = new WeakMap<RouteRuleIR, number>();
  #nextNumber = 0;

  /** Forgets what the decoder holds: the next table is sent whole (after the decoder asked, `resend`). */
  reset(): void {
    this.#held = new Map();
  }

  /**
   * The table's parts, and `bytes`: about the length of its JSON written whole (the numbered rules
   * counted at their own length), which is what holding it costs and what the source decides by.
   * `dryRun`: the same work, nothing remembered (the start's rehearsal: that table is never sent).
   */
  encode(table: RoutingTable, dryRun = false): { parts: TableParts; bytes: number } {
    const held = this.#held;
    const now = new Map<RouteRuleIR, number>();
    let next = this.#nextNumber;
    let referenced = 0;
    const rule = (r: RouteRuleIR): EncodedRule => {
      let n = now.get(r);
      if (n === undefined) {
        n = held.get(r);
        if (n === undefined) {
          n = next++;
          now.set(r, n);
          return [n, r];
        }
        now.set(r, n);
      }
      referenced += this.#ruleBytes.get(r) ?? 0;
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
    let bytes = parts.head.length + referenced;
    for (const part of [...parts.services, ...parts.backends]) bytes += part.length;
    for (const [r] of now) if (!this.#ruleBytes.has(r)) this.#ruleBytes.set(r, JSON.stringify(r).length);
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
