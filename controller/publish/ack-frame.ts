// The one frame every agent sends for every table it is sent: `{"type":"ack","version":"…"}`.
// A route change at 1 000 agents brings 1 000 of them, so the publisher reads an ack spelt the
// way agents write it (encodeMessage's property order, no spaces) straight from its bytes: no
// string decoded, no JSON.parse, no object. Anything else (other spacing or order, escapes,
// non-ASCII, another message) gives null and goes through parseMessage(), which accepts every
// ack this accepts, with the same version: the contract is api/wire.ts's, this only reads faster.

const PREFIX = Buffer.from('{"type":"ack","version":"', 'latin1');
const SUFFIX = Buffer.from('"}', 'latin1');
/** parseMessage's bound on an ack's version (api/wire.ts). */
const MAX_VERSION = 128;

/** The version an ack frame names, or null when the frame is not an ack in the plain spelling. */
export function ackVersion(data: Buffer): string | null {
  const end = data.length - SUFFIX.length;
  const length = end - PREFIX.length;
  if (length < 1 || length > MAX_VERSION) return null;
  // Byte by byte: Buffer#compare with offsets validates five arguments per call, which cost more
  // than these 27 bytes (one ack per agent per change).
  for (let i = 0; i < PREFIX.length; i++) if (data[i] !== PREFIX[i]) return null;
  if (data[end] !== SUFFIX[0] || data[end + 1] !== SUFFIX[1]) return null;
  // Printable ASCII but `"` and `\`: the JSON string's text is then its value, byte for byte.
  for (let i = PREFIX.length; i < end; i++) {
    const b = data[i]!;
    if (b < 0x20 || b > 0x7e || b === 0x22 || b === 0x5c) return null;
  }
  return data.toString('latin1', PREFIX.length, end);
}
