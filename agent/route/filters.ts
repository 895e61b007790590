// Executing filters on the request that goes upstream. Rule-level filters run in route() in
// spec order; a backendRef's own filters run after a backend is picked, via
// applyBackendFilters(). Request modifiers change the request; RequestMirror and
// ResponseHeaderModifier are collected for the data plane, which mirrors and rewrites the
// response. Redirects are not filters here: the IR turns them into the rule's action.
import type { FilterIR, HeaderModifierIR, WeightedBackendIR } from '../../api/routing-table.ts';
import { applyHeaderModifier } from './header-modifier.ts';
import { applyPathModifier, joinPathAndQuery, splitPathAndQuery } from './path-modifier.ts';
import type { MirrorDecision, UpstreamRequest } from './types.ts';

export interface FilterResult {
  request: UpstreamRequest;
  responseHeaders: HeaderModifierIR[];
  mirrors: MirrorDecision[];
}

function rewrite(request: UpstreamRequest, f: Extract<FilterIR, { type: 'URLRewrite' }>): UpstreamRequest {
  let { authority, pathAndQuery, headers } = request;
  if (f.hostname !== null) {
    authority = f.hostname;
    // Keep an HTTP/1 `host` entry, if the data plane left one in the record, in step.
    if (headers.host !== undefined) headers = { ...headers, host: f.hostname };
  }
  if (f.path !== null) {
    const { path, query } = splitPathAndQuery(pathAndQuery);
    pathAndQuery = joinPathAndQuery(applyPathModifier(path, f.path), query);
  }
  return { ...request, authority, pathAndQuery, headers };
}

/** Applies `filters` in order to `request` (which is not modified). */
export function applyFilters(request: UpstreamRequest, filters: FilterIR[]): FilterResult {
  let req = request;
  const responseHeaders: HeaderModifierIR[] = [];
  const mirrors: MirrorDecision[] = [];
  for (const f of filters) {
    switch (f.type) {
      case 'RequestHeaderModifier':
        req = { ...req, headers: applyHeaderModifier(req.headers, f.modifier) };
        break;
      case 'URLRewrite':
        req = rewrite(req, f);
        break;
      case 'RequestMirror':
        if (f.percent > 0) mirrors.push({ backend: f.backend, percent: f.percent });
        break;
      case 'ResponseHeaderModifier':
        responseHeaders.push(f.modifier);
        break;
      default:
        // A filter type from a newer IR: translation must not emit what agents cannot run.
        break;
    }
  }
  return { request: req, responseHeaders, mirrors };
}

/** The backendRef's own filters, applied after the rule's (the request passed in). */
export function applyBackendFilters(request: UpstreamRequest, backend: WeightedBackendIR): FilterResult {
  return applyFilters(request, backend.filters);
}
