// Path modifiers shared by URLRewrite and RequestRedirect. ReplacePrefixMatch follows the table
// in the Gateway API's HTTPPathModifier documentation: the prefix is matched by whole segments
// with its trailing slash ignored, the replacement's trailing slash is dropped, and what follows
// the prefix is kept as is — so `/foo/` with prefix `/foo` and replacement `/xyz` gives `/xyz/`,
// and an empty (or `/`) replacement of the whole path gives `/`.
import type { PathModifierIR } from '../../api/routing-table.ts';

/** A PathPrefix value without its trailing slash; `/` becomes '' (it prefixes everything). */
export function trimPrefix(prefix: string): string {
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/** Segment-aware PathPrefix test: `/foo` matches `/foo`, `/foo/`, `/foo/bar`, not `/foobar`. */
export function hasPathPrefix(path: string, prefix: string): boolean {
  const p = trimPrefix(prefix);
  if (p === '') return true;
  return path === p || (path.startsWith(p) && path.charCodeAt(p.length) === 0x2f /* / */);
}

/**
 * ReplacePrefixMatch on `path`. When the path does not have the prefix (a backend-level
 * rewrite after a rule-level one moved it), the path is returned unchanged.
 */
export function replacePrefix(path: string, prefix: string, replacement: string): string {
  if (!hasPathPrefix(path, prefix)) return path;
  const rest = path.slice(trimPrefix(prefix).length);
  const result = trimPrefix(replacement) + rest;
  if (result === '') return '/';
  return result.startsWith('/') ? result : `/${result}`;
}

export function applyPathModifier(path: string, mod: PathModifierIR): string {
  if (mod.type === 'ReplaceFullPath') return mod.value === '' ? '/' : mod.value;
  return replacePrefix(path, mod.prefix, mod.value);
}

/** Splits `path?query` (as in UpstreamRequest.pathAndQuery). */
export function splitPathAndQuery(pathAndQuery: string): { path: string; query: string } {
  const q = pathAndQuery.indexOf('?');
  return q < 0 ? { path: pathAndQuery, query: '' } : { path: pathAndQuery.slice(0, q), query: pathAndQuery.slice(q + 1) };
}

export function joinPathAndQuery(path: string, query: string): string {
  return query === '' ? path : `${path}?${query}`;
}
