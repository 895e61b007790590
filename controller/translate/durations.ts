// GEP-2257 durations ("1h30m", "500ms", "0s"): the string MUST match the GEP's regular
// expression and is then read like Go's time.ParseDuration, which sums components and allows a
// unit to repeat. We return whole milliseconds, the unit the routing table uses.

const FORMAT = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const COMPONENT = /([0-9]{1,5})(ms|h|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** Milliseconds, or null when `value` is not a GEP-2257 duration. */
export function parseDuration(value: unknown): number | null {
  if (typeof value !== 'string' || !FORMAT.test(value)) return null;
  let total = 0;
  for (const m of value.matchAll(COMPONENT)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}
