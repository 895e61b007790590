// Shape checks for user objects: a field that is present but of the wrong type (a string where
// a list belongs, a number for a path) makes the route Accepted=False naming the field, instead
// of being read as "absent" and silently changing what the route means.
import { unsupported } from './errors.ts';
import { isRec, type Rec } from './util.ts';

/** A list of objects, or [] when absent; anything else is reported. */
export function recordList(v: unknown, field: string): Rec[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw unsupported(`${field}: must be a list`);
  return v.map((item, i) => {
    if (!isRec(item)) throw unsupported(`${field}[${i}]: must be an object`);
    return item;
  });
}

/** An object, or {} when absent. */
export function record(v: unknown, field: string): Rec {
  if (v === undefined || v === null) return {};
  if (!isRec(v)) throw unsupported(`${field}: must be an object`);
  return v;
}

/** A string, or undefined when absent. */
export function optString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw unsupported(`${field}: must be a string, got ${JSON.stringify(v)}`);
  return v;
}
