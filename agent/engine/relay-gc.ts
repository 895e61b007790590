// Frees the buffers of relayed bodies while they are young (issue 16, ADR 0012). Every socket
// read is a fresh ArrayBuffer (libuv asks for 64 KB; node:http's parser copies request body
// pieces into new Buffers too) that is dead as soon as its bytes are written on, but V8 frees
// it only at a GC. Relaying allocates few JS objects per byte, so the young generation fills
// slowly and no scavenge runs: the buffers pile up until their external memory passes V8's
// limit (tens of MB per process, measured: 20-45 MB of arrayBuffers per agent during a 100 MB
// download) and a mark-compact takes them. By then glibc has grown its heap by as much and keeps
// it. A scavenge every RELAY_GC_BYTES relayed frees them young instead: it is cheap (a proxy's
// live young set is small, and the buffers' memory is swept off the main thread) and it
// replaces those mark-compacts. Small requests never reach the threshold on their own; only a
// process moving bulk bytes pays one scavenge per few MB.
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Readable } from 'node:stream';

/**
 * Bytes relayed between two scavenges, about 32 reads' buffers. Measured on a sidecar pair's
 * first 100 MB download (MALLOC_ARENA_MAX=2, two runs each): 4 MB +28-32 MB RSS, 2 MB +20-21,
 * 1 MB +22-28; the agents' CPU per 100 MB did not move (a scavenge here takes 0.2-0.5 ms).
 */
export const RELAY_GC_BYTES = 2 * 1024 * 1024;

export interface RelayGc {
  /** Counts bytes that were read from one socket and handed on to another. */
  note(bytes: number): void;
  /** How many collections this has run (metrics, tests). */
  readonly runs: number;
}

/** `note` calls `collect` each time another `everyBytes` have been counted. */
export function createRelayGc(everyBytes: number, collect: () => void): RelayGc {
  if (!(everyBytes > 0)) throw new RangeError(`relay GC threshold must be positive, got ${everyBytes}`);
  let pending = 0;
  let runs = 0;
  return {
    note(bytes: number): void {
      pending += bytes;
      if (pending < everyBytes) return;
      pending = 0;
      runs++;
      collect();
    },
    get runs() {
      return runs;
    },
  };
}

let gc: ((opts: object) => void) | null = null;

/**
 * V8's scavenge, on this thread. `--expose-gc` is set only at the first call (so an agent that
 * never relays a few MB never has it), and the function comes from a fresh `vm` context, so the
 * application's globals never see a `gc` (as common/heap-reclaim.ts does for its full GC).
 */
export function scavenge(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as (opts: object) => void;
  }
  gc({ type: 'minor' });
}

/** The process's counter: every relay of every listener adds to it. */
export const relayGc: RelayGc = createRelayGc(RELAY_GC_BYTES, scavenge);

async function* counted(body: AsyncIterable<Buffer | string>, meter: RelayGc): AsyncGenerator<Buffer | string> {
  for await (const chunk of body) {
    meter.note(chunk.length);
    yield chunk;
  }
}

/**
 * Counts what flows out of a piped stream (opaque TCP, WebSocket tunnels): a 'data' listener
 * beside the pipe's own. Attached right after `pipe()`, before the stream flows, it sees every
 * chunk the pipe does.
 */
export function countPiped(from: Readable, meter: RelayGc = relayGc): void {
  from.on('data', (chunk: Buffer | string) => meter.note(chunk.length));
}

/** A request body announced below this is passed as it is: no wrapper on a small request's path. */
export const SMALL_BODY_BYTES = 256 * 1024;

/**
 * A streamed request body that counts its bytes as the upstream side consumes it. Wrapping, not
 * listening: a 'data' listener added before the consumer attaches would drop what it missed.
 */
export function countedBody(body: AsyncIterable<Buffer | string>, meter: RelayGc = relayGc): AsyncIterable<Buffer | string> {
  return counted(body, meter);
}

/** `body` counted (countedBody) unless its Content-Length says it is small. */
export function meteredBody<T extends AsyncIterable<Buffer | string>>(body: T, contentLength: unknown, meter: RelayGc = relayGc): T | AsyncIterable<Buffer | string> {
  if (typeof contentLength === 'string' && /^\d{1,15}$/.test(contentLength) && Number(contentLength) < SMALL_BODY_BYTES) return body;
  return countedBody(body, meter);
}
