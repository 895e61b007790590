// Which HTTP version a request travels upstream in, and the headers that go with it. Shared by
// the main attempt and mirrors, so a gRPC request's mirror speaks HTTP/2 too.
import { isGrpc, isH2, type DownstreamRequest } from './downstream.ts';
import type { Headers } from './hop-by-hop.ts';
import type { UpstreamProtocol } from './upstream-types.ts';

const H2_APP_PROTOCOLS = new Set(['kubernetes.io/h2c', 'grpc', 'h2c']);

export function upstreamProtocol(req: DownstreamRequest, appProtocol: string | null): UpstreamProtocol {
  if (isH2(req) && isGrpc(req)) return 'h2';
  return appProtocol !== null && H2_APP_PROTOCOLS.has(appProtocol) ? 'h2' : 'h1';
}

/** Headers as they go upstream: authority travels separately; `te` only survives on h2. */
export function upstreamHeaders(headers: Headers, protocol: UpstreamProtocol): Headers {
  const out: Headers = { ...headers };
  delete out.host;
  if (protocol === 'h1') delete out.te;
  return out;
}

