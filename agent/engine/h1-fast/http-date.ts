// The Date field for answers the fast path writes. RFC 9110 §6.6.1: a recipient with a clock
// that forwards a response without Date must add one, and an origin (our own rejections and
// direct answers) must send one; node:http does both on the general path. The string changes once
// a second, so it is built once a second, as node:http caches its own.
let second = -1;
let value = '';

/** The current time as an IMF-fixdate (`Sun, 06 Dec 2026 23:59:59 GMT`). */
export function httpDate(now = Date.now()): string {
  const s = Math.floor(now / 1000);
  if (s !== second) {
    second = s;
    value = new Date(s * 1000).toUTCString();
  }
  return value;
}

/** Whether [name, value, …] holds a Date field. */
export function hasDate(fields: readonly string[]): boolean {
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length === 4 && name.toLowerCase() === 'date') return true;
  }
  return false;
}
