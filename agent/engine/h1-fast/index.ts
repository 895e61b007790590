// agent/engine/h1-fast: the HTTP/1.1 fast path (issue 16, ADR 0017), on unless a composition
// turns it off (`--no-h1-fast`, MESHLET_H1_FAST=0): downstream-hook.ts gives the listener its
// `http1` hook; connection.ts serves a client connection on raw sockets (read-buffer.ts: one
// reused read buffer), engine-bridge.ts routes each head with the engine's plan(), and
// connection-exchange.ts runs the attempts against the upstream pool (upstream-*.ts). llhttp.ts drives llhttp through Node's own C++
// binding (the parser node:http runs, so both paths accept and reject exactly the same bytes);
// request-head.ts turns a parsed head into one descriptor in one pass — framing, Host, the
// end-to-end fields — or says why the request must go to the general path (upgrades, CONNECT,
// Expect, transfer codings other than chunked, trailers, other versions and target forms) or be
// refused with 400; route-request.ts gives the matcher the same RequestDescriptor the general
// path builds; response-head.ts reads an upstream response's framing; head-writer.ts writes
// each head as one buffer with the framing we chose (and re-serialises a received head for the
// general path on a fallback); chunked.ts re-frames de-chunked bodies. Pure except llhttp.ts,
// which holds a native parser.
export { LlhttpParser, llhttpAvailable, PAUSE, type H1Events, type LlhttpError } from './llhttp.ts';
export { describeRequest, type RequestHead, type RequestDecision, type FallbackReason, type Framing } from './request-head.ts';
export { describeResponse, type ResponseHead } from './response-head.ts';
export { toRouteRequest } from './route-request.ts';
export { writeRequestHead, writeResponseHead, writeReceivedHead, InvalidFieldError } from './head-writer.ts';
export { chunkHeader, lastChunk, CRLF } from './chunked.ts';
export { fastPathWanted, H1_FAST_ENV } from './downstream-switch.ts';
export { http1Handler } from './downstream-hook.ts';
