// What one attempt sends and gets back, independent of the upstream protocol (HTTP/1.1 via
// undici or HTTP/2 via node:http2), so the retry and timeout logic is written once.
import type { Readable } from 'node:stream';
import type { BodySource } from './request-body.ts';
import type { Headers } from './hop-by-hop.ts';

export interface AttemptRequest {
  method: string;
  authority: string;
  pathAndQuery: string;
  /** Already free of hop-by-hop headers; `host` is not included (authority is). */
  headers: Headers;
  body: BodySource;
  signal: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: Headers;
  body: Readable;
  /** Trailers, once `body` has ended (null when there were none). */
  trailers(): Headers | null;
  /** Drops the response (the attempt is being retried or abandoned). */
  discard(): void;
}

export type UpstreamProtocol = 'h1' | 'h2';
