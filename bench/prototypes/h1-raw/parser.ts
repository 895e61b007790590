// The seam between the raw-socket proxy core and an llhttp build: the core implements
// `H1Handler` once per connection (methods on a long-lived object, so no closure per request)
// and an adapter feeds it from llhttp — Node's own C++ binding (native-parser.ts) or undici's
// WebAssembly build (wasm-parser.ts). Both report the same events in the same order.

export interface H1Handler {
  /**
   * The head is complete. `headers` is [name, value, name, value, …] as received (latin1).
   * Requests carry `method` and `url`; responses `status` and `reason`. Return 1 to tell
   * llhttp the message has no body (a response to HEAD), PAUSE to stop right after the head
   * (the caller then relays a Content-Length body itself, without copies), 0 otherwise.
   */
  onHead(versionMinor: number, headers: string[], method: string, url: string, status: number, reason: string, upgrade: boolean, keepAlive: boolean): number;
  /** A piece of the de-framed body (chunk framing removed); valid only during the call. */
  onBody(piece: Buffer): void;
  /** Trailer fields of a chunked message, before onComplete. */
  onTrailers(fields: string[]): void;
  onComplete(): void;
}

export interface H1Parser {
  /**
   * Parses `data`; returns an error (llhttp's code and reason) when the bytes are not HTTP/1.1,
   * or, when onHead returned PAUSE, the offset just after that head (the body is the caller's).
   */
  execute(data: Buffer): ParseError | number | undefined;
  /** Back to "expecting a new message" (after the caller consumed a body itself). */
  reset(): void;
  /** The peer closed: completes a read-until-close message, or reports a truncated one. */
  finish(): ParseError | undefined;
  close(): void;
}

/** llhttp's HPE_PAUSED, returned from onHead. */
export const PAUSE = 21;

export interface ParseError { code: string; reason: string }

export type ParserFactory = (kind: 'request' | 'response', handler: H1Handler) => H1Parser;

/** llhttp's method enum (llhttp.h HTTP_METHOD_MAP), index = the number llhttp reports. */
export const LLHTTP_METHODS: readonly string[] = [
  'DELETE', 'GET', 'HEAD', 'POST', 'PUT', 'CONNECT', 'OPTIONS', 'TRACE', 'COPY', 'LOCK', 'MKCOL', 'MOVE',
  'PROPFIND', 'PROPPATCH', 'SEARCH', 'UNLOCK', 'BIND', 'REBIND', 'UNBIND', 'ACL', 'REPORT', 'MKACTIVITY',
  'CHECKOUT', 'MERGE', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PATCH', 'PURGE', 'MKCALENDAR',
  'LINK', 'UNLINK', 'SOURCE', 'PRI', 'DESCRIBE', 'ANNOUNCE', 'SETUP', 'PLAY', 'PAUSE', 'TEARDOWN',
  'GET_PARAMETER', 'SET_PARAMETER', 'REDIRECT', 'RECORD', 'FLUSH', 'QUERY',
];
