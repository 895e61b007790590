// The downstream request body, as the attempts need it. Without retries or mirrors it is
// streamed straight through (back-pressure end to end, nothing held). When a retry or a
// mirror may need it again, a body whose Content-Length is within `limit` is buffered and is
// replayable. A body of unknown length (chunked, gRPC and other h2 streams) is streamed at
// once and neither retried nor mirrored: waiting for its end could deadlock a bidirectional
// stream whose client waits for a response first. A body that turns out larger than announced
// is still streamed once (the buffered prefix, then the rest), so memory stays bounded.
import type { Readable } from 'node:stream';

export type BodySource =
  | { kind: 'none' }
  | { kind: 'buffered'; data: Buffer }
  | { kind: 'stream'; stream: Readable | AsyncIterable<Buffer>; used: boolean };

/** Whether the downstream request carries a body at all (GET without length has none). */
export function hasBody(req: Readable & { headers: Record<string, unknown>; httpVersionMajor: number; stream?: { endAfterHeaders?: boolean } }): boolean {
  if (req.httpVersionMajor >= 2) return !(req.stream?.endAfterHeaders ?? false);
  const len = req.headers['content-length'];
  if (typeof len === 'string') return len !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** The request announces a Content-Length of at most `limit` bytes (so buffering it is safe). */
export function announcedWithin(req: { headers: Record<string, unknown> }, limit: number): boolean {
  const len = req.headers['content-length'];
  if (typeof len !== 'string' || !/^\d{1,15}$/.test(len)) return false;
  if (req.headers['transfer-encoding'] !== undefined) return false;
  return Number(len) <= limit;
}

async function* prefixThenRest(prefix: Buffer[], iterator: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  for (const c of prefix) yield c;
  for (;;) {
    const r = await iterator.next();
    if (r.done) return;
    yield r.value;
  }
}

/** Reads up to `limit` bytes; returns a replayable buffer, or a one-shot stream if larger. */
export async function bufferUpTo(body: Readable, limit: number): Promise<BodySource> {
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const r = await iterator.next();
    if (r.done) return { kind: 'buffered', data: Buffer.concat(chunks, size) };
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) return { kind: 'stream', stream: prefixThenRest(chunks, iterator), used: false };
  }
}

/**
 * Passes a streamed body through unchanged (no waiting: a bidirectional stream keeps flowing)
 * while keeping a copy of up to `limit` bytes; when the body ends within the limit,
 * `onComplete` gets the whole copy. Mirrors of streamed requests (gRPC has no Content-Length)
 * are sent from it once the request is complete; larger bodies are simply not copied.
 */
export async function* teeUpTo(body: AsyncIterable<Buffer | string>, limit: number, onComplete: (data: Buffer) => void): AsyncGenerator<Buffer> {
  let copy: Buffer[] | null = [];
  let size = 0;
  for await (const raw of body) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (copy) {
      size += chunk.length;
      if (size > limit) copy = null;
      else copy.push(chunk);
    }
    yield chunk;
  }
  if (copy) onComplete(Buffer.concat(copy, size));
}

/** True when another attempt can resend the body. */
export function replayable(body: BodySource): boolean {
  return body.kind !== 'stream';
}
