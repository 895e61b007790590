// RequestHeaderModifier / ResponseHeaderModifier on a plain header record. Semantics from the
// Gateway API's HTTPHeaderFilter: `set` overwrites every existing value, `add` appends to any
// existing values (the conformance suite reads `existing,added`, which is what an extra field
// line means on the wire), `remove` drops the header. Names are case-insensitive; the result
// uses lower-case names, as Node and HTTP/2 do. Actions run set, then add, then remove: the
// spec forbids naming one header in two actions, so the order only matters for input the
// controller should have rejected, and then this is the documented outcome.
import type { HeaderModifierIR } from '../../api/routing-table.ts';

type Headers = Record<string, string | string[]>;

/** Every key of `headers` whose lower-case form is `lower`. Usually zero or one. */
function keysOf(headers: Headers, lower: string): string[] {
  const keys: string[] = [];
  for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) keys.push(k);
  return keys;
}

/** Returns a new record; `headers` is not modified. */
export function applyHeaderModifier(headers: Headers, mod: HeaderModifierIR): Headers {
  const out: Headers = { ...headers };
  for (const { name, value } of mod.set) {
    const lower = name.toLowerCase();
    for (const k of keysOf(out, lower)) delete out[k];
    out[lower] = value;
  }
  for (const { name, value } of mod.add) {
    const lower = name.toLowerCase();
    const existing: string[] = [];
    for (const k of keysOf(out, lower)) {
      const v = out[k];
      if (Array.isArray(v)) existing.push(...v);
      else if (typeof v === 'string') existing.push(v);
      delete out[k];
    }
    out[lower] = existing.length === 0 ? value : [...existing, value];
  }
  for (const name of mod.remove) {
    for (const k of keysOf(out, name.toLowerCase())) delete out[k];
  }
  return out;
}
