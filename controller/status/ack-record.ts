// What one controller replica tells the leader about its agents, and how the leader sums them.
// Every replica serves the agents connected to it, so only it knows which routes their slices
// hold and whether they acknowledged them. It publishes that as a compact record (an annotation
// on its own Lease, see ack-lease-writer.ts): each agent's identity, the routes of its slice
// with the route's fingerprint (a hash of its rules, the same on every replica that translated
// the same objects; replicas number their tables independently, so generations cannot be
// compared), and whether it runs its latest slice. Agents with the same routes share a group,
// so a record grows with the distinct slices, not with the agents times their routes.
// Counting is by agent identity: an agent that moved to another replica is counted once, from
// the freshest source, however long the replica it left keeps an old record.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { MeshletError } from '../../api/errors.ts';

/** One connected agent as its replica sees it. */
export interface AgentAck {
  /** `namespace/pod`: the same agent has the same id on every replica. */
  agent: string;
  /** Route key (`Kind/namespace/name`) → the route's fingerprint in the table the agent was sent. */
  routes: ReadonlyMap<string, string>;
  /** Runs the routes of the latest slice it was sent (endpoints aside: publisher AgentAcks). */
  upToDate: boolean;
}

/** Encoded records stay below this, well inside the 256 KiB the API allows for all annotations. */
export const ACK_RECORD_MAX_BYTES = 200_000;

/** A record another replica wrote that this one cannot read (a newer format, a damaged value). */
export class AckRecordInvalidError extends MeshletError {
  constructor(message: string) {
    super('E_ACK_RECORD_INVALID', `propagation record: ${message}`);
  }
}

interface Wire {
  v: 1;
  /** [routeKey, fingerprint] */
  routes: [string, string][];
  /** [indexes into routes, [agentId, 1 | 0][]] */
  groups: [number[], [string, 0 | 1][]][];
  /** Agents left out to stay under the size bound. */
  dropped: number;
}

function toWire(agents: readonly AgentAck[]): Wire {
  // Agents of one slice share their routes map (the publisher's, per slice): index each distinct
  // map once, not once per agent.
  const byMap = new Map<ReadonlyMap<string, string>, [string, 0 | 1][]>();
  for (const a of [...agents].sort((x, y) => (x.agent < y.agent ? -1 : x.agent > y.agent ? 1 : 0))) {
    let members = byMap.get(a.routes);
    if (!members) byMap.set(a.routes, (members = []));
    members.push([a.agent, a.upToDate ? 1 : 0]);
  }
  const routeIndex = new Map<string, number>();
  const routes: [string, string][] = [];
  const groups = new Map<string, [number[], [string, 0 | 1][]]>();
  for (const [map, members] of byMap) {
    const idx: number[] = [];
    for (const [key, fp] of [...map].sort(([x], [y]) => (x < y ? -1 : 1))) {
      const rk = `${key}\n${fp}`;
      let i = routeIndex.get(rk);
      if (i === undefined) {
        routeIndex.set(rk, (i = routes.length));
        routes.push([key, fp]);
      }
      idx.push(i);
    }
    const gk = idx.join(',');
    const g = groups.get(gk);
    if (g) g[1].push(...members);
    else groups.set(gk, [idx, members]);
  }
  return { v: 1, routes, groups: [...groups.values()], dropped: 0 };
}

function pack(w: Wire): string {
  return deflateRawSync(Buffer.from(JSON.stringify(w))).toString('base64');
}

/**
 * The record for these agents, at most `maxBytes` long. Past the bound, whole agents are left
 * out (the last by id first) and counted in `dropped`, so the reader knows the record is partial.
 */
export function encodeAckRecord(agents: readonly AgentAck[], maxBytes = ACK_RECORD_MAX_BYTES): { value: string; dropped: number } {
  // An agent reconnecting to this replica may briefly have two connections, the newest listed
  // first: only that one is recorded. Kept both, the older could come first in the record (its
  // group placed by another agent sharing its routes) and be the one the leader counts.
  const seen = new Set<string>();
  const unique = agents.filter((a) => !seen.has(a.agent) && !!seen.add(a.agent));
  let kept = unique;
  for (;;) {
    const w = toWire(kept);
    w.dropped = unique.length - kept.length;
    const value = pack(w);
    if (value.length <= maxBytes || kept.length === 0) return { value, dropped: w.dropped };
    // Shrink in proportion to the overshoot (a few rounds at most), not one agent at a time.
    const keep = Math.min(kept.length - 1, Math.floor(kept.length * (maxBytes / value.length) * 0.95));
    kept = [...kept].sort((x, y) => (x.agent < y.agent ? -1 : 1)).slice(0, Math.max(0, keep));
  }
}

function fail(message: string): never {
  throw new AckRecordInvalidError(message);
}

/** The agents of a record; throws AckRecordInvalidError on anything but the format above. */
export function decodeAckRecord(value: string): { agents: AgentAck[]; dropped: number } {
  let w: Wire;
  try {
    w = JSON.parse(inflateRawSync(Buffer.from(value, 'base64'), { maxOutputLength: 64 * ACK_RECORD_MAX_BYTES }).toString()) as Wire;
  } catch (err) {
    return fail(`not a deflated JSON value (${(err as Error).message})`);
  }
  if (typeof w !== 'object' || w === null || w.v !== 1) fail(`unknown format version ${JSON.stringify((w as { v?: unknown } | null)?.v)}`);
  if (!Array.isArray(w.routes) || !Array.isArray(w.groups) || typeof w.dropped !== 'number') fail('routes, groups and dropped are required');
  for (const r of w.routes) if (!Array.isArray(r) || typeof r[0] !== 'string' || typeof r[1] !== 'string') fail('a route is not [key, fingerprint]');
  const agents: AgentAck[] = [];
  for (const g of w.groups) {
    if (!Array.isArray(g) || !Array.isArray(g[0]) || !Array.isArray(g[1])) fail('a group is not [routes, agents]');
    const routes = new Map<string, string>();
    for (const i of g[0]) {
      const r = Number.isInteger(i) ? w.routes[i] : undefined;
      if (!r) fail(`route index ${JSON.stringify(i)} out of range`);
      routes.set(r[0], r[1]);
    }
    for (const a of g[1]) {
      if (!Array.isArray(a) || typeof a[0] !== 'string' || (a[1] !== 0 && a[1] !== 1)) fail('an agent is not [id, 0 | 1]');
      agents.push({ agent: a[0], routes, upToDate: a[1] === 1 });
    }
  }
  return { agents, dropped: w.dropped };
}

export interface RouteCount {
  upToDate: number;
  total: number;
}

/**
 * Per route, how many distinct agents hold it and how many of those run it at `fingerprint(key)`
 * (the leader's current version of the route). Sources come in priority order (this replica's
 * own agents, then other replicas' records, freshest first); an agent counts once, from the first
 * source (and the first entry) that names it.
 */
export function sumAcks(sources: readonly (readonly AgentAck[])[], fingerprint: (key: string) => string | null): Map<string, RouteCount> {
  const seen = new Set<string>();
  const counts = new Map<string, RouteCount>();
  for (const agents of sources) {
    for (const a of agents) {
      if (seen.has(a.agent)) continue;
      seen.add(a.agent);
      for (const [key, fp] of a.routes) {
        let c = counts.get(key);
        if (!c) counts.set(key, (c = { upToDate: 0, total: 0 }));
        c.total++;
        if (a.upToDate && fp === fingerprint(key)) c.upToDate++;
      }
    }
  }
  return counts;
}
