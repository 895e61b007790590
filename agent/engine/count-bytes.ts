// Byte counting for telemetry, installed only when someone observes requests. A response body
// is counted by a second 'data' listener added after it is piped (pipe already made it flow,
// so nothing is lost and back-pressure still pauses both). A streamed request body of unknown
// length is counted by wrapping it, since listening before its consumer attaches would drop data.
import type { Readable } from 'node:stream';
import type { RequestEvent } from '../telemetry/events.ts';

export function countResponseBytes(body: Readable, ev: RequestEvent): void {
  // Deferred one tick: relayBody attaches the pipe synchronously right after this call.
  queueMicrotask(() => body.on('data', (chunk: Buffer | string) => {
    ev.responseBytes += chunk.length;
  }));
}

async function* counted(stream: AsyncIterable<Buffer>, ev: RequestEvent): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    ev.requestBytes += chunk.length;
    yield chunk;
  }
}

export function countStreamedBytes(stream: Readable | AsyncIterable<Buffer>, ev: RequestEvent): AsyncIterable<Buffer> {
  return counted(stream as AsyncIterable<Buffer>, ev);
}
