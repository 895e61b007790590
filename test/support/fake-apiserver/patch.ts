// The two patch formats the fake apiserver applies: JSON merge patch (RFC 7386; strategic merge
// is treated the same, which is enough for the fields meshlet patches) and JSON patch (RFC 6902).
import { isDeepStrictEqual } from 'node:util';

type Json = unknown;

function isObj(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** A patch that cannot be applied: the apiserver answers 422 (or 409 for a failed `test`). */
export class PatchError extends Error {
  readonly code: number;
  constructor(message: string, code = 422) {
    super(message);
    this.code = code;
  }
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer '${path}'`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, tokens: string[]): { parent: Record<string, Json> | Json[]; last: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObj(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw new PatchError(`path segment '${t}' does not exist`);
  }
  if (!Array.isArray(cur) && !isObj(cur)) throw new PatchError('path parent is not a container');
  return { parent: cur, last: tokens[tokens.length - 1]! };
}

function getAt(doc: Json, path: string): Json {
  let cur = doc;
  for (const t of parsePointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isObj(cur) ? cur[t] : undefined;
    if (cur === undefined) throw new PatchError(`path '${path}' does not exist`);
  }
  return cur;
}

function arrayIndex(arr: Json[], last: string, forAdd: boolean): number {
  if (forAdd && last === '-') return arr.length;
  const i = Number(last);
  if (!Number.isInteger(i) || i < 0 || i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`array index '${last}' out of range`);
  return i;
}

function add(doc: Json, path: string, value: Json): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return structuredClone(value);
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, structuredClone(value));
  else parent[last] = structuredClone(value);
  return doc;
}

function remove(doc: Json, path: string): Json {
  const tokens = parsePointer(path);
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
  else if (!(last in parent)) throw new PatchError(`path '${path}' does not exist`);
  else delete parent[last];
  return doc;
}

export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch is an array of operations', 400);
  let doc = structuredClone(target);
  for (const raw of ops) {
    if (!isObj(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw new PatchError('malformed JSON patch operation', 400);
    const { op, path } = raw;
    switch (op) {
      case 'add': doc = add(doc, path, raw.value); break;
      case 'remove': doc = remove(doc, path); break;
      case 'replace': doc = add(remove(doc, path), path, raw.value); break;
      case 'move': case 'copy': {
        if (typeof raw.from !== 'string') throw new PatchError(`${op} needs 'from'`, 400);
        const value = getAt(doc, raw.from);
        if (op === 'move') doc = remove(doc, raw.from);
        doc = add(doc, path, value);
        break;
      }
      case 'test':
        if (!isDeepStrictEqual(getAt(doc, path), raw.value)) throw new PatchError(`test failed at '${path}'`, 409);
        break;
      default: throw new PatchError(`unknown JSON patch op '${op}'`, 400);
    }
  }
  return doc;
}
