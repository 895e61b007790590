// Hostname rules shared by listeners and routes: validation, wildcard matching, the
// listener/route intersection of the Gateway API, and the "most specific first" order the
// routing table uses for listeners and virtual hosts.

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** RFC 1123 hostname, optionally with a leading `*.` label; never an IP address. */
export function isValidHostname(h: string): boolean {
  if (h.length === 0 || h.length > 253 || IPV4.test(h) || h.includes(':')) return false;
  const labels = h.split('.');
  return labels.every((l, i) => (i === 0 && l === '*' && labels.length > 1) || LABEL.test(l));
}

export function isWildcard(h: string): boolean {
  return h.startsWith('*.');
}

/** Does `host` (exact or wildcard) fall within `pattern` (exact or wildcard)? */
export function hostWithin(host: string, pattern: string): boolean {
  if (host === pattern) return true;
  if (!isWildcard(pattern)) return false;
  const suffix = pattern.slice(1); // ".example.com"
  // A wildcard matches one or more labels, never the bare suffix itself.
  return host.endsWith(suffix) && host.length > suffix.length && host.slice(0, -suffix.length) !== '*';
}

/**
 * The hostnames a route serves on a listener: null listener hostname means "any"; empty route
 * hostnames mean "whatever the listener allows". `*` stands for "any host". Returns [] when
 * the two do not intersect (NoMatchingListenerHostname).
 */
export function intersectHostnames(listener: string | null, routeHostnames: string[]): string[] {
  if (routeHostnames.length === 0) return [listener ?? '*'];
  if (listener === null) return dedupe(routeHostnames);
  const out: string[] = [];
  for (const r of routeHostnames) {
    if (hostWithin(r, listener)) out.push(r);
    else if (hostWithin(listener, r)) out.push(listener);
  }
  return dedupe(out);
}

function dedupe(hosts: string[]): string[] {
  return [...new Set(hosts)];
}

/**
 * Most specific first: exact hostnames, then wildcards by descending length, then "any" (null
 * or `*`) last; ties alphabetical. Used for listeners on a port and virtual hosts.
 */
export function compareSpecificity(a: string | null, b: string | null): number {
  const rank = (h: string | null): number => (h === null || h === '*' ? 2 : isWildcard(h) ? 1 : 0);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1 && a!.length !== b!.length) return b!.length - a!.length;
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether two host patterns (exact, wildcard or `*`) can both match some request host. */
export function hostsOverlap(a: string, b: string): boolean {
  if (a === '*' || b === '*') return true;
  return hostWithin(a, b) || hostWithin(b, a);
}
