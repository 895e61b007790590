// A connection's last match, kept while its next request cannot match differently: a kept-alive
// connection keeps its target object (the ingress's Gateway choice, the outbound's destination)
// and its requests mostly repeat one request line, so the listener, virtual host and rule are
// found once instead of on every request (~4 k instructions per request on the ingress, where
// the rule index's merge stays at V8's baseline tier; issue 16).
//
// The key is everything the match reads, so a hit is the rule the full match would find:
// the compiled table (a new table is a new object), the target (by identity), the authority
// (the host chooses listener and virtual host), the method, the raw path and, when any rule of
// that virtual host reads them, the raw query and the value of every header any of its rules
// matches on. Anything that differs is a miss, and the full match runs and replaces the entry.
import type { CompiledTable } from './compile.ts';
import type { CompiledRule } from './match.ts';
import { headerValue } from './request.ts';
import type { CompiledVirtualHost } from './rule-index.ts';
import type { RequestDescriptor, RouteTarget } from './types.ts';

/** What a virtual host's rules read beyond method and path. */
interface Reads {
  /** Header names any rule matches on (lower case, each once). */
  headers: readonly string[];
  /** Whether any rule matches on a query parameter (then the whole raw query is part of the key). */
  query: boolean;
}

const readsOf = new WeakMap<CompiledVirtualHost, Reads>();

function reads(vh: CompiledVirtualHost): Reads {
  let r = readsOf.get(vh);
  if (r === undefined) {
    const headers = new Set<string>();
    let query = false;
    for (const rule of vh.rules) {
      for (const h of rule.headers) headers.add(h.name);
      if (rule.queryParams.length > 0) query = true;
    }
    r = { headers: [...headers], query };
    readsOf.set(vh, r);
  }
  return r;
}

export interface KeptMatch {
  compiled: CompiledTable;
  authority: string;
  method: string;
  rawPath: string;
  /** The raw query when the virtual host's rules read it, else null (not part of the key). */
  query: string | null;
  reads: Reads;
  /** The values of reads.headers, in order (undefined: absent). */
  values: (string | undefined)[];
  /** The normalized host and path the match ran on. */
  host: string;
  path: string;
  match: CompiledRule;
}

const kept = new WeakMap<RouteTarget, KeptMatch>();

/** The kept match of `target`'s last request when `request` would match the same rule, else null. */
export function keptMatch(compiled: CompiledTable, target: RouteTarget, request: RequestDescriptor): KeptMatch | null {
  const k = kept.get(target);
  if (k === undefined || k.compiled !== compiled || k.authority !== request.authority || k.method !== request.method || k.rawPath !== request.path) return null;
  if (k.query !== null && k.query !== request.query) return null;
  const names = k.reads.headers;
  if (names.length > 0) {
    const headers = request.headers && typeof request.headers === 'object' ? request.headers : {};
    for (let i = 0; i < names.length; i++) if (headerValue(headers, names[i]!) !== k.values[i]) return null;
  }
  return k;
}

/** Keeps a rule `target`'s request matched in `vh`, keyed on what that virtual host's rules read. */
export function keepMatch(compiled: CompiledTable, target: RouteTarget, request: RequestDescriptor, vh: CompiledVirtualHost, host: string, path: string, match: CompiledRule): void {
  if (typeof request.authority !== 'string' || typeof request.method !== 'string' || typeof request.path !== 'string') return;
  const r = reads(vh);
  const headers = request.headers && typeof request.headers === 'object' ? request.headers : {};
  kept.set(target, {
    compiled, authority: request.authority, method: request.method, rawPath: request.path,
    query: r.query ? (typeof request.query === 'string' ? request.query : '') : null,
    reads: r, values: r.headers.map((name) => headerValue(headers, name)), host, path, match,
  });
}
