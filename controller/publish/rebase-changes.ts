// The changes a route change makes to a rebased slice, without diffing it. A slice rebased by
// rebaseSlice shares every list but its frontends (and maybe its backends) with the slice it was
// rebased from, and its frontends differ only where the change's entries were swapped in, in
// place, under the same names. When its backends are the very same list, diffTables() of the two
// is the swapped-in frontends whose content differs, and nothing else. With exactly one of them
// (a route change on a Service that 1 000 agents call, each with a slice of its own), every slice
// holding that frontend gets one TableChanges object, which PatchFrames then serialises and finds
// by identity: no diff, no five section objects and no patch key per agent (issue 14).
import type { RoutingTable, ServiceFrontendIR } from '../../api/routing-table.ts';
import type { SectionChanges, TableChanges } from '../../api/wire.ts';
import type { EntryJson } from './diff.ts';

/** Slice rebased by a route change → the slice it was rebased from. */
const rebasedFrom = new WeakMap<RoutingTable, RoutingTable>();

/** Records that `next` is `from` with some entries swapped in by rebaseSlice (nothing else differs). */
export function noteRebased(next: RoutingTable, from: RoutingTable): void {
  if (next !== from) rebasedFrom.set(next, from);
}

const none = <T extends { name: string }>(): SectionChanges<T> => ({ upsert: [], remove: [] });

/** A changed frontend → the changes that upsert it alone (entries are never changed in place). */
const single = new WeakMap<ServiceFrontendIR, TableChanges>();
/** The changes that upsert nothing. */
const empty: TableChanges = { gateways: none(), services: none(), backends: none(), secrets: none(), policies: none() };

/**
 * diffTables(base, next, json) when `next` was rebased from `base` with the same backends list and
 * at most one frontend whose content changed, else null (the caller diffs). Equal to diffTables'
 * answer entry for entry; the same object for every slice upserting the same frontend.
 */
export function rebaseChanges(base: RoutingTable, next: RoutingTable, json: EntryJson): TableChanges | null {
  if (rebasedFrom.get(next) !== base || next.backends !== base.backends || next.gateways !== base.gateways
    || next.secrets !== base.secrets || next.policies !== base.policies || next.services.length !== base.services.length) return null;
  let changed: ServiceFrontendIR | null = null;
  for (let i = 0; i < next.services.length; i++) {
    const a = base.services[i]!;
    const x = next.services[i]!;
    if (a === x) continue;
    if (a.name !== x.name) return null;
    if (json(a) === json(x)) continue;
    if (changed) return null;
    changed = x;
  }
  if (!changed) return empty;
  let changes = single.get(changed);
  if (!changes) {
    changes = { gateways: none(), services: { upsert: [changed], remove: [] }, backends: none(), secrets: none(), policies: none() };
    single.set(changed, changes);
  }
  return changes;
}
