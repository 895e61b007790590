// The lines file mode logs for objects that are not healthy, from the translator's statuses.
// Its own module, with nothing but types imported, so the folder's index can export it without
// loading the translator on file mode's serving thread (ADR 0012).
import type { StatusUpdate } from '../../translate/snapshot.ts';

interface Condition { type?: string; status?: string; reason?: string; message?: string }

/** One line per condition that is not healthy, e.g. "HTTPRoute default/r: Accepted=False (NotAllowedByListeners) ...". */
export function unhealthyConditions(statuses: StatusUpdate[]): string[] {
  const out: string[] = [];
  const bad = (c: Condition): boolean => c.status === 'False' && c.type !== 'Conflicted' || c.type === 'Conflicted' && c.status === 'True';
  for (const s of statuses) {
    const who = `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}`;
    const own = (s.status.conditions ?? []) as Condition[];
    for (const c of own.filter(bad)) out.push(`${who}: ${c.type}=${c.status} (${c.reason}) ${c.message ?? ''}`.trim());
    for (const p of (s.status.parents ?? []) as { parentRef?: { name?: string }; conditions?: Condition[] }[]) {
      for (const c of (p.conditions ?? []).filter(bad)) out.push(`${who} → ${p.parentRef?.name ?? '?'}: ${c.type}=${c.status} (${c.reason}) ${c.message ?? ''}`.trim());
    }
    for (const l of (s.status.listeners ?? []) as { name?: string; conditions?: Condition[] }[]) {
      for (const c of (l.conditions ?? []).filter(bad)) out.push(`${who} listener ${l.name ?? '?'}: ${c.type}=${c.status} (${c.reason}) ${c.message ?? ''}`.trim());
    }
  }
  return out;
}
