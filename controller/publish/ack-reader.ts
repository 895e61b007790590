// Acks read from the socket's bytes before ws's Receiver sees them. A change reaching 1 000 agents
// brings 1 000 acks, and each went through ws's receive path (a Writable write, the frame loop,
// a Buffer per step, the UTF-8 check, two 'message' emits): ~9 k instructions per ack under
// callgrind, as much as the rest of the ack's handling. An ack is one small masked text frame, so
// here the bytes ws would be written are walked frame by frame first: a whole ack frame, at a
// frame boundary, with nothing of ws's still in progress, is unmasked into a scratch buffer and
// read as ack-frame.ts reads it; every other byte (other frames, control frames, a frame split
// over reads, anything malformed) goes on to the Receiver as it came, in order, and ws does all
// it did before (its checks, errors and closes). Frames keep their order: bytes before an ack are
// handed to the Receiver, which handles whole frames synchronously (allowSynchronousEvents, ws's
// default; no permessage-deflate), before the ack is taken, and only while the Receiver holds no
// bytes of its own (writableLength 0).
//
// It sits on `ws._receiver.write` (ws 8: every byte ws reads goes through it, from its 'data'
// listener and from its close handler alike). A WebSocket without it (another ws) is left alone.
import type WebSocket from 'ws';
import { ackVersion } from './ack-frame.ts';

/** The longest ack payload ackVersion() can accept: prefix, 128 characters of version, suffix. */
const MAX_ACK_PAYLOAD = 27 + 128 + 2;
const OPEN = 1;

interface ReceiverLike {
  write(chunk: Buffer): boolean;
  readonly writableLength: number;
  readonly writableNeedDrain: boolean;
}

/** Unmasked payloads of candidate frames (one at a time: the walk is synchronous). */
const scratch = Buffer.allocUnsafe(MAX_ACK_PAYLOAD);

/**
 * Makes `take(version)` see the acks arriving on `ws` before its Receiver does; `take` answers
 * whether it handled the ack (false: the frame goes on to ws as before, e.g. behind a hello being
 * authenticated). Returns false when this ws has no Receiver to sit in front of.
 */
export function readAcksFirst(ws: WebSocket, take: (version: string) => boolean): boolean {
  const receiver = (ws as unknown as { _receiver?: ReceiverLike })._receiver;
  if (!receiver || typeof receiver.write !== 'function' || typeof receiver.writableLength !== 'number') return false;
  const write = receiver.write.bind(receiver);
  /** Bytes still to pass of a frame handed to the Receiver. */
  let skip = 0;
  /** Inside a fragmented data message (its continuation frames are ws's). */
  let fragmented = false;
  /** A close frame was passed on: ws reads nothing after it. */
  let stopped = false;
  /** The start of a frame header that a read cut short. */
  let held: Buffer | null = null;

  receiver.write = (input: Buffer): boolean => {
    if (stopped || ws.readyState !== OPEN) return write(input);
    let chunk = input;
    if (held) {
      chunk = Buffer.concat([held, input]);
      held = null;
    }
    let pos = 0;
    let from = 0;
    let ok = true;
    const pass = (end: number): void => {
      if (end > from) ok = write(chunk.subarray(from, end));
      from = end;
    };
    while (pos < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - pos);
        pos += n;
        skip -= n;
        continue;
      }
      const h = header(chunk, pos);
      if (h === null) {
        // A header cut short: kept for the next read (ws could do nothing with it either).
        pass(pos);
        held = Buffer.from(chunk.subarray(pos));
        return ok;
      }
      const end = pos + h.size + h.length;
      if (!fragmented && h.b0 === 0x81 && h.masked && h.length <= MAX_ACK_PAYLOAD && end <= chunk.length) {
        pass(pos);
        if (receiver.writableLength === 0) {
          const at = pos + h.size;
          const m = at - 4;
          for (let i = 0; i < h.length; i++) scratch[i] = chunk[at + i]! ^ chunk[m + (i & 3)]!;
          const version = ackVersion(scratch.subarray(0, h.length));
          if (version !== null && take(version)) {
            pos = end;
            from = end;
            continue;
          }
        }
      }
      const opcode = h.b0 & 0x0f;
      if (opcode === 0x08) stopped = true;
      else if (opcode < 0x08) {
        const fin = (h.b0 & 0x80) !== 0;
        if (opcode !== 0 && !fin) fragmented = true;
        else if (opcode === 0 && fin) fragmented = false;
      }
      skip = h.size + h.length;
      if (stopped) break;
    }
    pass(stopped ? chunk.length : pos);
    return ok;
  };
  return true;
}

/** A client frame's header at `pos` (RFC 6455 §5.2): its size with the mask key, and the payload length; null when cut short. */
function header(b: Buffer, pos: number): { b0: number; masked: boolean; size: number; length: number } | null {
  if (b.length - pos < 2) return null;
  const b0 = b[pos]!;
  const b1 = b[pos + 1]!;
  const masked = (b1 & 0x80) !== 0;
  let length = b1 & 0x7f;
  let size = 2;
  if (length === 126) {
    if (b.length - pos < 4) return null;
    length = b.readUInt16BE(pos + 2);
    size = 4;
  } else if (length === 127) {
    if (b.length - pos < 10) return null;
    length = b.readUInt32BE(pos + 2) * 2 ** 32 + b.readUInt32BE(pos + 6);
    size = 10;
  }
  if (masked) size += 4;
  if (b.length - pos < size) return null;
  return { b0, masked, size, length };
}
