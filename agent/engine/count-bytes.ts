// Byte counting for telemetry, installed only when someone observes requests. A response body
// is counted by the relay itself (relay.ts), in the 'data' listener that already copies each
// chunk. A streamed request body of unknown length is counted by wrapping it, since listening
// before its consumer attaches would drop data.
import type { Readable } from 'node:stream';
import type { RequestEvent } from '../telemetry/events.ts';

async function* counted(stream: AsyncIterable<Buffer>, ev: RequestEvent): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    ev.requestBytes += chunk.length;
    yield chunk;
  }
}

export function countStreamedBytes(stream: Readable | AsyncIterable<Buffer>, ev: RequestEvent): AsyncIterable<Buffer> {
  return counted(stream as AsyncIterable<Buffer>, ev);
}
