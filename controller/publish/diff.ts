// diffTables(): what changed between the slice an agent runs and its new slice, list by list
// and entry by entry (entries are identified by name). Sent as a patch when it is clearly
// smaller than the slice itself: endpoint churn then costs one backend per update, not the
// agent's whole slice.
import type { RoutingTable } from '../../api/routing-table.ts';
import { canonicalJson } from '../../api/version.ts';
import type { SectionChanges, TableChanges } from '../../api/wire.ts';

/** Serialises an entry for comparison; a caching one (TableVersioner.json) makes a changed entry shared by many slices cost one serialisation, not one per agent. */
export type EntryJson = (entry: unknown) => string;

function diffSection<T extends { name: string }>(prev: T[], next: T[], json: EntryJson): SectionChanges<T> {
  // The same names in the same order (a route change replaces entries, it does not add any):
  // compared in step, without a map per section per agent (a change reaching 1 000 agents).
  if (prev.length === next.length && next.every((x, i) => x.name === prev[i]!.name)) {
    const upsert: T[] = [];
    for (let i = 0; i < next.length; i++) {
      const a = prev[i]!;
      const x = next[i]!;
      if (a !== x && json(a) !== json(x)) upsert.push(x);
    }
    return { upsert, remove: [] };
  }
  const before = new Map(prev.map((x) => [x.name, x]));
  const upsert: T[] = [];
  for (const x of next) {
    const old = before.get(x.name);
    before.delete(x.name);
    // Slices share entries with the table they came from, so identity settles most cases.
    if (old !== x && (old === undefined || json(old) !== json(x))) upsert.push(x);
  }
  return { upsert, remove: [...before.keys()] };
}

/**
 * A section whose list is the same array in both tables changed in nothing, and is not walked: a
 * slice derived from the agent's last one (an endpoint patch, a route change's rebase) shares
 * every list it did not change with it, and a change reaches 1 000 agents. This rests on tables'
 * lists never being changed in place: translation, the endpoint patcher and the slicer build new
 * arrays for what they change (a push into a published list would make this skip a real change).
 */
function diffList<T extends { name: string }>(prev: T[], next: T[], json: EntryJson): SectionChanges<T> {
  return prev === next ? { upsert: [], remove: [] } : diffSection(prev, next, json);
}

export function diffTables(prev: RoutingTable, next: RoutingTable, json: EntryJson = canonicalJson): TableChanges {
  return {
    gateways: diffList(prev.gateways, next.gateways, json),
    services: diffList(prev.services, next.services, json),
    backends: diffList(prev.backends, next.backends, json),
    secrets: diffList(prev.secrets, next.secrets, json),
    policies: diffList(prev.policies, next.policies, json),
  };
}

/** Entries touched by the changes, and entries in the new table: the patch-or-not decision. */
export function changeSize(changes: TableChanges, next: RoutingTable): { touched: number; total: number } {
  const sections: SectionChanges<{ name: string }>[] = [changes.gateways, changes.services, changes.backends, changes.secrets];
  const touched = sections.reduce((n, c) => n + c.upsert.length + c.remove.length, 0);
  const total = next.gateways.length + next.services.length + next.backends.length + next.secrets.length;
  return { touched, total };
}
