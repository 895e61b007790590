// Raw HTTP/2 frames (RFC 9113 section 4.1) for clients that misbehave faster than node's own
// http2 client would let them (rapid reset, CVE-2023-44487): the client connection preface,
// HEADERS of a GET, RST_STREAM(CANCEL). Shared by the hardening tests and the attackers of
// bench/lib/hostile.ts, so the benchmark attacks with the frames the tests prove are handled.

export const FRAME_TYPE = { HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7 } as const;
const END_STREAM_END_HEADERS = 0x5;
const CANCEL = Buffer.from([0, 0, 0, 8]);

/** One frame: 9-byte header (length, type, flags, stream id) and the payload. */
export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** The client connection preface, then an empty SETTINGS frame (all defaults). */
export const CLIENT_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(FRAME_TYPE.SETTINGS, 0, 0, Buffer.alloc(0))]);

/**
 * The HPACK block of `GET /` to `authority`: :method GET (2), :scheme http (6), :path / (4)
 * from the static table, :authority as a literal without indexing (name index 1), so every
 * block stands alone and can be sent on any stream in any order.
 */
export function getRequestBlock(authority: string): Buffer {
  const value = Buffer.from(authority);
  // A 7-bit length prefix holds up to 126; longer values would need HPACK integer continuation.
  if (value.length > 126) throw new RangeError(`authority of ${value.length} bytes: at most 126`);
  return Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x01, value.length]), value]);
}

/** A whole request on `stream`: HEADERS with END_STREAM and END_HEADERS. */
export function headersFrame(stream: number, block: Buffer): Buffer {
  return frame(FRAME_TYPE.HEADERS, END_STREAM_END_HEADERS, stream, block);
}

/** RST_STREAM(CANCEL) on `stream`: the client no longer wants the response. */
export function cancelFrame(stream: number): Buffer {
  return frame(FRAME_TYPE.RST_STREAM, 0, stream, CANCEL);
}
