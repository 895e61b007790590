// The export queue for OTLP/protobuf: ended spans are encoded into the current batch's buffer
// at once (otlp-protobuf.ts), so what waits for export is bytes, not span objects. It keeps the
// SDK BatchSpanProcessor's rules: at most `maxQueue` spans waiting (more are dropped and
// counted, never blocking a request), a batch of `batchSize` is exported as soon as it is full
// and a partial one after `delayMs`, one export at a time, each given `exportTimeoutMs`; at
// shutdown everything queued is exported. The exporter is the SDK's transport
// (otlp-exporter.ts).
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { SpanBatch, type BatchFraming } from './otlp-protobuf.ts';
import type { SpanRecord } from './span-record.ts';

/** A sealed batch: an ExportTraceServiceRequest's bytes and how many spans they hold. */
export interface EncodedBatch {
  bytes: Uint8Array;
  count: number;
}

export interface BatchExporter {
  export: (batch: EncodedBatch, done: (r: ExportResult) => void) => void;
  shutdown: () => Promise<void>;
}

export interface SpanQueueOptions {
  framing: BatchFraming;
  exporter: BatchExporter;
  maxQueue: number;
  batchSize: number;
  delayMs: number;
  exportTimeoutMs: number;
}

export interface SpanQueue {
  /** Encodes an ended span into the queue; false when it was dropped (queue full, or not encodable). */
  add: (span: SpanRecord) => boolean;
  /** Spans waiting (encoded, not yet handed to the exporter). */
  queued: () => number;
  /** Exports everything queued, then shuts the exporter down. */
  shutdown: () => Promise<void>;
}

// A span is ~300–600 bytes: a full batch's buffer is sized once, not grown span by span.
const BYTES_PER_SPAN = 640;

export function startSpanQueue(o: SpanQueueOptions): SpanQueue {
  const sealed: SpanBatch[] = [];
  let current: SpanBatch | null = null;
  let queued = 0;
  let exporting = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const clearTimer = (): void => {
    if (timer !== undefined) { clearTimeout(timer); timer = undefined; }
  };

  /** The next batch to export: a full one first, else the partial one being filled. */
  const take = (): SpanBatch | null => {
    const b = sealed.shift() ?? current;
    if (b === current) current = null;
    return b;
  };

  // A batch's buffer (~330 KB) is taken by the next batch once its export has answered (not
  // after a timeout: the transport may still be sending it), instead of a new one per batch.
  let spare: Buffer | null = null;

  const exportOne = (b: SpanBatch): Promise<void> => new Promise((resolve, reject) => {
    queued -= b.count;
    let timedOut = false;
    const t = setTimeout(() => { timedOut = true; reject(new Error('Timeout')); }, o.exportTimeoutMs);
    o.exporter.export({ bytes: b.seal(), count: b.count }, (r) => {
      clearTimeout(t);
      if (!timedOut) spare = b.w.buf;
      if (r.code === ExportResultCode.SUCCESS) resolve();
      else reject(r.error ?? new Error('span export failed'));
    });
  });

  const flush = (): void => {
    clearTimer();
    const b = take();
    if (b === null) return;
    exporting = true;
    // Failures are the exporter's to count and log (provider.ts); the queue only moves on.
    void exportOne(b).catch(() => undefined).finally(() => { exporting = false; if (queued > 0 && !stopped) maybeExport(); });
  };

  function maybeExport(): void {
    if (exporting) return;
    if (sealed.length > 0) { flush(); return; }
    if (timer !== undefined || queued === 0) return;
    timer = setTimeout(() => { timer = undefined; if (!exporting) flush(); }, o.delayMs);
    timer.unref();
  }

  return {
    add: (span) => {
      if (stopped || queued >= o.maxQueue) return false;
      if (current === null) {
        current = new SpanBatch(o.framing, o.batchSize * BYTES_PER_SPAN, spare);
        spare = null;
      }
      if (!current.add(span)) return false;
      queued++;
      if (current.count >= o.batchSize) { sealed.push(current); current = null; }
      maybeExport();
      return true;
    },
    queued: () => queued,
    shutdown: async () => {
      stopped = true;
      clearTimer();
      // Every batch left at once, as the SDK's batch processor does at shutdown: one after another,
      // a collector that does not answer cost a whole export timeout per batch (4 batches of
      // the default queue: ~40 s), past the pod's grace period. Failures do not stop the rest.
      const left: Promise<void>[] = [];
      for (let b = take(); b !== null; b = take()) {
        if (b.count > 0) left.push(exportOne(b).catch(() => undefined));
      }
      await Promise.all(left);
      await o.exporter.shutdown();
    },
  };
}
