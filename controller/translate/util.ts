// Defensive readers for user-supplied Kubernetes JSON. Objects reach translate from users and
// from newer API versions, so every field is read through these helpers: a wrong type reads as
// "absent" instead of throwing, and callers decide whether absence is an error worth reporting.
import type { KubeObject } from './snapshot.ts';

export type Rec = Record<string, unknown>;

export function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function rec(v: unknown): Rec {
  return isRec(v) ? v : {};
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function recs(v: unknown): Rec[] {
  return list(v).filter(isRec);
}

export function nsName(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The object's namespace, defaulting like kubectl does for namespaced objects without one. */
export function namespaceOf(obj: KubeObject): string {
  return str(obj.metadata?.namespace) ?? 'default';
}

export function nameOf(obj: KubeObject): string | undefined {
  const name = str(obj.metadata?.name);
  return name && name.length > 0 ? name : undefined;
}

export function generationOf(obj: KubeObject): number {
  return int(obj.metadata?.generation) ?? 0;
}

export function specOf(obj: KubeObject): Rec {
  return rec(obj.spec);
}

/** Plain code-unit ordering: locale-independent, so output is identical on every machine. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
