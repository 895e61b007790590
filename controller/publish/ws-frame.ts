// A server's WebSocket text frame as one Buffer: the header (RFC 6455 §5.2: FIN and opcode 1,
// no mask, the payload length in 7, 16 or 64 bits) followed by the payload. Server frames are
// not masked, and permessage-deflate is off (Publisher.start), so a frame's bytes are the same
// for every agent it is written to: built once, they are one socket write per agent, where
// ws's send() builds a header and writes header and payload as two chunks (a cork, two writes,
// a writev) for each of them (issue 14: a change reaching 1 000 agents).
/**
 * A text frame in two parts: `head`, the frame's header and the start of its payload (one agent's
 * own bytes, a few dozen), and `tail`, the rest of the payload, the very same Buffer for every
 * agent sent it (a patch's changes, patch-frame.ts). Written as two chunks of one corked write
 * (one writev), so the shared bytes are not copied into a new Buffer per agent.
 */
export class SplitFrame {
  readonly head: Buffer;
  readonly tail: Buffer;
  /** Where the payload starts in `head` (the header's length). */
  readonly at: number;
  /** Payload bytes. */
  readonly length: number;
  /** Both parts in one Buffer (the payload, adopted: see joined()). */
  #joined: Buffer | null = null;

  constructor(head: Buffer, at: number, tail: Buffer) {
    this.head = head;
    this.at = at;
    this.tail = tail;
    this.length = head.length - at + tail.length;
  }

  /**
   * The payload in one Buffer built behind its header (textFrame() of it costs no copy), joined
   * once: for a frame written to several agents (they share a slice), one plain write each.
   */
  joined(): Buffer {
    return (this.#joined ??= adopt(Buffer.concat([this.head, this.tail], this.head.length + this.tail.length), this.length));
  }
}

/** A socket as frames are written to it: at once, in call order (see AgentSession's raw socket). */
export interface RawSocket {
  write(chunk: Buffer): unknown;
  cork(): void;
  uncork(): void;
}

/** Writes a frame: a whole one as its framed bytes, a split one as its two parts in one corked write. */
export function writeFrame(socket: RawSocket, frame: Buffer | SplitFrame): void {
  if (!(frame instanceof SplitFrame)) {
    socket.write(textFrame(frame));
    return;
  }
  socket.cork();
  socket.write(frame.head);
  socket.write(frame.tail);
  socket.uncork();
}

/** Payload (an encoded frame) → its framed bytes; the payload is never modified. */
const framedOf = new WeakMap<Buffer, Buffer>();

/** Bytes of the header of a server frame with `n` bytes of payload. */
export function headerLength(n: number): number {
  return n < 126 ? 2 : n < 65_536 ? 4 : 10;
}

/** Writes the header of an unmasked final text frame of `n` payload bytes at the start of `out`; returns its length. */
export function writeTextHeader(out: Buffer, n: number): number {
  out[0] = 0x81;
  if (n < 126) {
    out[1] = n;
    return 2;
  }
  if (n < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
    return 4;
  }
  out[1] = 127;
  out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
  out.writeUInt32BE(n >>> 0, 6);
  return 10;
}

/**
 * `payload` framed (cached by payload: agents sharing a frame share its framed bytes too). A
 * caller that builds the payload inside a larger buffer with room for the header registers it
 * with adopt() instead, and no copy is made.
 */
export function textFrame(payload: Buffer): Buffer {
  let framed = framedOf.get(payload);
  if (!framed) {
    framed = Buffer.allocUnsafe(headerLength(payload.length) + payload.length);
    payload.copy(framed, writeTextHeader(framed, payload.length));
    framedOf.set(payload, framed);
  }
  return framed;
}

/** `text`'s UTF-8 bytes (the payload), built behind its frame's header: textFrame() of it costs no copy. */
export function encodeFramed(text: string): Buffer {
  const n = Buffer.byteLength(text);
  const framed = Buffer.allocUnsafe(headerLength(n) + n);
  framed.write(text, writeTextHeader(framed, n), n, 'utf8');
  return adopt(framed, n);
}

/**
 * A buffer holding a header and payload, as textFrame() would build it: returns the payload
 * (a view of `framed`), which textFrame() then answers with `framed` without copying.
 */
export function adopt(framed: Buffer, payloadLength: number): Buffer {
  const payload = framed.subarray(framed.length - payloadLength);
  framedOf.set(payload, framed);
  return payload;
}
