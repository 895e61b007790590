// Per-route generations for the Propagated condition. The publisher numbers each distinct table
// it publishes (1, 2, 3...); a route's generation is the number of the table in which that
// route's own rules last changed. An endpoint moving or an unrelated route changing leaves it
// alone, so the status writer only rewrites a route's condition when the route itself changed
// or its proxies caught up.
import { createHash } from 'node:crypto';
import type { RoutingTable, VirtualHostIR } from '../../api/routing-table.ts';
import { canonicalJson } from '../../api/version.ts';
import { routeKey } from './slice.ts';

/** `Kind/namespace/name` → a hash of every rule of that route, with where it sits in the table. */
export function routeFingerprints(table: RoutingTable): Map<string, string> {
  const parts = new Map<string, string[]>();
  const add = (where: string, vhosts: VirtualHostIR[]): void => {
    for (const vh of vhosts) {
      for (const r of vh.rules) {
        const key = routeKey(r.source);
        let list = parts.get(key);
        if (!list) parts.set(key, (list = []));
        list.push(`${where}|${vh.hostname}|${canonicalJson(r)}`);
      }
    }
  };
  for (const g of table.gateways) for (const p of g.ports) for (const l of p.listeners) add(`${l.name}|${p.port}`, l.virtualHosts);
  for (const s of table.services) {
    for (const p of s.ports) {
      if (p.producer) add(`${s.name}|${p.port}`, p.producer.virtualHosts);
      for (const c of p.consumers) add(`${s.name}|${p.port}|${c.namespace}`, c.routes.virtualHosts);
    }
  }
  const out = new Map<string, string>();
  for (const [key, list] of parts) out.set(key, createHash('sha256').update(list.join('\n')).digest('hex').slice(0, 16));
  return out;
}

export class RouteGenerations {
  #generation = 0;
  #version: string | null = null;
  readonly #routes = new Map<string, { fingerprint: string; generation: number }>();

  /** The number of the table in force (0 before the first). */
  get generation(): number {
    return this.#generation;
  }

  /** Records a new table; returns false when it is the same version as the current one. */
  update(table: RoutingTable): boolean {
    if (table.version === this.#version) return false;
    this.#version = table.version;
    this.#generation++;
    const prints = routeFingerprints(table);
    for (const key of this.#routes.keys()) if (!prints.has(key)) this.#routes.delete(key);
    for (const [key, fingerprint] of prints) {
      if (this.#routes.get(key)?.fingerprint !== fingerprint) this.#routes.set(key, { fingerprint, generation: this.#generation });
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
