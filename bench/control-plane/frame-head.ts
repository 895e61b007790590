// The version of an update or patch frame, read from the frame's head as the swarm's simulated
// agents read it: the controller writes `{"type":"update"|"patch","version":"…"` first
// (encodeMessage's property order), so the version is there without JSON.parse of the frame.
// Anything else (another type, another order or spacing, an escape or a version over 128
// characters) gives null, and the swarm parses that frame whole.

/** `"` and `\` excluded: without an escape, the JSON string's text is its value. */
const HEAD = /^\{"type":"(?:update|patch)","version":"([^"\\]{1,128})"/;
/** Enough of a frame for the head with a version of 128 characters. */
const HEAD_BYTES = 64 + 128;

export function tableVersion(data: Buffer): string | null {
  return HEAD.exec(data.toString('latin1', 0, Math.min(data.length, HEAD_BYTES)))?.[1] ?? null;
}
