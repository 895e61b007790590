// Per-route generations for the Propagated condition. The publisher numbers each distinct table
// it publishes (1, 2, 3...); a route's generation is the number of the table in which that
// route's own rules last changed. An endpoint moving or an unrelated route changing leaves it
// alone, so the status writer only rewrites a route's condition when the route itself changed
// or its proxies caught up.
import { createHash } from 'node:crypto';
import type { GatewayIR, RoutingTable, ServiceFrontendIR, VirtualHostIR } from '../../api/routing-table.ts';
import { canonicalJson } from '../../api/version.ts';
import { intern } from '../../common/intern.ts';
import type { MovedRoutes } from './moved-routes.ts';
import { routeKey } from './slice.ts';

/**
 * Route key → a hash of that route's rules in one Gateway or Service frontend (where each sits,
 * its hostname, its canonical JSON). Kept for as long as the entry is in the table, so it holds
 * 16 hex digits per route and entry, not the JSON (16 MB at 10 000 routes, issue 14), and one
 * interned copy of each key.
 */
type Parts = Map<string, string>;

const digest = (list: readonly string[]): string => createHash('sha256').update(list.join('\n')).digest('hex').slice(0, 16);

/** The fingerprint parts of every route in one Gateway or Service frontend, in table order. */
function partsOf(container: GatewayIR | ServiceFrontendIR): Parts {
  const lists = new Map<string, string[]>();
  const add = (where: string, vhosts: VirtualHostIR[]): void => {
    for (const vh of vhosts) {
      for (const r of vh.rules) {
        const key = routeKey(r.source);
        let list = lists.get(key);
        if (!list) lists.set(key, (list = []));
        list.push(`${where}|${vh.hostname}|${canonicalJson(r)}`);
      }
    }
  };
  if (container.source.kind === 'Gateway') {
    for (const p of (container as GatewayIR).ports) for (const l of p.listeners) add(`${l.name}|${p.port}`, l.virtualHosts);
  } else {
    const s = container as ServiceFrontendIR;
    for (const p of s.ports) {
      if (p.producer) add(`${s.name}|${p.port}`, p.producer.virtualHosts);
      for (const c of p.consumers) add(`${s.name}|${p.port}|${c.namespace}`, c.routes.virtualHosts);
    }
  }
  const parts: Parts = new Map();
  for (const [key, list] of lists) parts.set(intern(key), digest(list));
  return parts;
}

function containersOf(table: RoutingTable): (GatewayIR | ServiceFrontendIR)[] {
  return [...table.gateways, ...table.services];
}

/**
 * `Kind/namespace/name` → a hash of every rule of that route, with where it sits in the table:
 * the hash of its per-entry hashes in table order. Equal on every replica running this code; a
 * replica running a release before this scheme computes other values (ADR 0019).
 */
export function routeFingerprints(table: RoutingTable): Map<string, string> {
  const all = new Map<string, string[]>();
  for (const c of containersOf(table)) {
    for (const [key, hash] of partsOf(c)) {
      const acc = all.get(key);
      if (acc) acc.push(hash);
      else all.set(key, [hash]);
    }
  }
  const out = new Map<string, string>();
  for (const [key, list] of all) out.set(key, digest(list));
  return out;
}

export class RouteGenerations {
  #generation = 0;
  #version: string | null = null;
  #table: RoutingTable | null = null;
  readonly #routes = new Map<string, { fingerprint: string; generation: number }>();
  /**
   * Each Gateway and Service frontend of the current table with its routes' parts. Translation
   * hands back unchanged entries as the same objects, so only the routes of new entries are
   * serialised and hashed again: a table change costs what changed, not every route (issue 14).
   */
  #parts = new Map<GatewayIR | ServiceFrontendIR, Parts>();

  #routesChangedAt = 0;
  /** Told of every route whose generation moved or that left the table (the status writer's feed). */
  readonly #moved: MovedRoutes | undefined;

  constructor(moved?: MovedRoutes) {
    this.#moved = moved;
  }

  /** The number of the table in force (0 before the first). */
  get generation(): number {
    return this.#generation;
  }

  /** The number of the last table in which some route's generation or presence changed. */
  get routesGeneration(): number {
    return this.#routesChangedAt;
  }

  /**
   * Records a new table; returns false when it is the same version as the current one.
   * `sameRoutes`: the caller knows every Gateway and Service frontend is the current table's
   * (an endpoint patch): no route can have changed. `sameContent`: the caller compared the
   * table with the current one entry by entry, so the version (hashed lazily from the whole
   * table, translate/table-version.ts) need not be read.
   */
  update(table: RoutingTable, sameRoutes = false, sameContent?: boolean): boolean {
    if (table === this.#table) return false;
    this.#table = table;
    if (sameRoutes) {
      // An endpoint patch replaced some backend, so it is a new version; its version is hashed
      // from the whole table only when read (translate/table-version.ts), so it is not read here.
      // Unknown until the next full table, which then counts as new even if equal to this one.
      this.#version = null;
      this.#generation++;
      return true;
    }
    if (sameContent !== undefined) {
      if (sameContent) return false;
      this.#version = null;
    } else {
      if (table.version === this.#version) return false;
      this.#version = table.version;
    }
    this.#generation++;
    const prev = this.#parts;
    const parts = new Map<GatewayIR | ServiceFrontendIR, Parts>();
    const changed = new Set<string>();
    for (const c of containersOf(table)) {
      let p = prev.get(c);
      if (!p) {
        p = partsOf(c);
        for (const key of p.keys()) changed.add(key);
      }
      parts.set(c, p);
    }
    for (const [c, p] of prev) if (!parts.has(c)) for (const key of p.keys()) changed.add(key);
    this.#parts = parts;
    if (changed.size === 0) return true;
    const lists = new Map<string, string[]>();
    for (const p of parts.values()) {
      for (const [key, hash] of p) {
        if (!changed.has(key)) continue;
        const acc = lists.get(key);
        if (acc) acc.push(hash);
        else lists.set(key, [hash]);
      }
    }
    for (const key of changed) {
      const list = lists.get(key);
      if (!list) {
        if (this.#routes.delete(key)) {
          this.#routesChangedAt = this.#generation;
          this.#moved?.add(key);
        }
        continue;
      }
      const fingerprint = digest(list);
      if (this.#routes.get(key)?.fingerprint !== fingerprint) {
        this.#routes.set(key, { fingerprint, generation: this.#generation });
        this.#routesChangedAt = this.#generation;
        this.#moved?.add(key);
      }
    }
    return true;
  }

  /** The hash of the route's rules in the current table (the same on every replica), or null. */
  fingerprintOf(key: string): string | null {
    return this.#routes.get(key)?.fingerprint ?? null;
  }

  /** The generation in which the route last changed, or null if it is not in the table. */
  of(key: string): number | null {
    return this.#routes.get(key)?.generation ?? null;
  }
}
