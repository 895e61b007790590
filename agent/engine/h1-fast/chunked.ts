// Chunked framing we write (RFC 9112 §7.1): llhttp removes the sender's framing, so every
// chunked body leaving the fast path carries chunk sizes computed here, never the client's.

export const CRLF = Buffer.from('\r\n', 'latin1');
const LAST = Buffer.from('0\r\n\r\n', 'latin1');
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'content-length', 'host']);

/** The size line before a chunk of `n` bytes (n > 0: a zero-size chunk would end the body). */
export function chunkHeader(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`chunk size must be a positive integer, got ${n}`);
  return Buffer.from(`${n.toString(16)}\r\n`, 'latin1');
}

/** The last chunk and the trailer section; framing and hop-by-hop trailer fields are dropped. */
export function lastChunk(trailers: readonly string[] = []): Buffer {
  if (trailers.length === 0) return LAST;
  let t = '0\r\n';
  for (let i = 0; i + 1 < trailers.length; i += 2) if (!HOP.has(trailers[i]!.toLowerCase())) t += `${trailers[i]!}: ${trailers[i + 1]!}\r\n`;
  return Buffer.from(`${t}\r\n`, 'latin1');
}
