// Hostname matching for listeners and virtual hosts. A wildcard `*.example.com` matches any
// host with at least one more label in front (`a.example.com`, `a.b.example.com`) and never
// `example.com` itself, as the Gateway API's Hostname type says. Virtual hosts are indexed:
// exact hosts in a map, wildcards by suffix, so finding the most specific one costs a walk over
// the request host's labels, not over the virtual hosts.
import type { VirtualHostIR } from '../../api/routing-table.ts';
import { compileVirtualHost, type CompiledVirtualHost } from './rule-index.ts';

/** Listener hostname test: null matches any host (including none). */
export function hostnameMatches(pattern: string | null, host: string): boolean {
  if (pattern === null || pattern === '*') return true;
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1); // `.example.com`
    return host.length > suffix.length && host.endsWith(suffix);
  }
  return host === pattern;
}

export interface VirtualHostIndex {
  exact: Map<string, CompiledVirtualHost>;
  /** Keyed by the suffix after `*.`. */
  wildcard: Map<string, CompiledVirtualHost>;
  any: CompiledVirtualHost | null;
}

export function indexVirtualHosts(vhosts: VirtualHostIR[]): VirtualHostIndex {
  const index: VirtualHostIndex = { exact: new Map(), wildcard: new Map(), any: null };
  for (const vh of vhosts) {
    const compiled = compileVirtualHost(vh);
    const name = vh.hostname.toLowerCase();
    if (name === '*') index.any ??= compiled;
    else if (name.startsWith('*.')) {
      if (!index.wildcard.has(name.slice(2))) index.wildcard.set(name.slice(2), compiled);
    } else if (!index.exact.has(name)) index.exact.set(name, compiled);
  }
  return index;
}

/**
 * The most specific virtual host for `host`: exact, then the longest matching wildcard, then
 * `*`. No fallback past the first hit: a request to a host that has a virtual host is answered
 * by that virtual host's rules or not at all.
 */
export function findVirtualHost(index: VirtualHostIndex, host: string): CompiledVirtualHost | null {
  const exact = index.exact.get(host);
  if (exact) return exact;
  if (index.wildcard.size > 0) {
    // Longest suffix first: drop one leading label at a time.
    for (let dot = host.indexOf('.', 1); dot >= 0 && dot < host.length - 1; dot = host.indexOf('.', dot + 1)) {
      const hit = index.wildcard.get(host.slice(dot + 1));
      if (hit) return hit;
    }
  }
  return index.any;
}
