// The changes an endpoint change makes to a slice, without diffing the slice. A slice patched by
// an endpoint change (patchSlice) shares every list but its backends with the slice it was
// patched from, and its backends differ only where the change's backends were swapped in, in
// place. So the diff of the two (diffTables) is the swapped-in backends whose content differs,
// in the slice's order, and nothing else: worked out here from the slice's backends alone, and
// one TableChanges object for every slice holding the same changed backends, which PatchFrames
// then serialises once by identity (issue 14: an endpoint change reaching 1 000 agents, each
// with a slice of its own, was 1 000 diffs and 1 000 patch keys).
import type { BackendIR, RoutingTable } from '../../api/routing-table.ts';
import type { SectionChanges, TableChanges } from '../../api/wire.ts';
import type { EntryJson } from './diff.ts';

/** Slice patched by an endpoint change → the slice it was patched from. */
const patchedFrom = new WeakMap<RoutingTable, RoutingTable>();

/** Records that `next` is `from` with some backends swapped in by patchSlice (nothing else differs). */
export function notePatched(next: RoutingTable, from: RoutingTable): void {
  if (next !== from) patchedFrom.set(next, from);
}

const none = <T extends { name: string }>(): SectionChanges<T> => ({ upsert: [], remove: [] });

export class EndpointChanges {
  readonly #delta: ReadonlyMap<string, BackendIR>;
  readonly #json: EntryJson;
  /** Names of the upserted backends, joined → their changes, shared by the slices holding them. */
  readonly #shared = new Map<string, TableChanges>();

  constructor(delta: ReadonlyMap<string, BackendIR>, json: EntryJson) {
    this.#delta = delta;
    this.#json = json;
  }

  /**
   * diffTables(base, next) when `next` was patched from `base` by this change, else null (the
   * caller diffs). Equal to diffTables' answer entry for entry; the same object for slices with
   * the same changed backends.
   */
  of(base: RoutingTable, next: RoutingTable): TableChanges | null {
    if (patchedFrom.get(next) !== base || base.backends.length !== next.backends.length) return null;
    const upsert: BackendIR[] = [];
    let key = '';
    for (let i = 0; i < next.backends.length; i++) {
      const a = base.backends[i]!;
      const x = next.backends[i]!;
      if (a === x) continue;
      // Swapped in by this change, under the same name; anything else is not a patch of it.
      if (a.name !== x.name || this.#delta.get(x.name) !== x) return null;
      if (this.#json(a) === this.#json(x)) continue;
      upsert.push(x);
      key += `${x.name}\n`;
    }
    let changes = this.#shared.get(key);
    if (!changes) {
      changes = { gateways: none(), services: none(), backends: { upsert, remove: [] }, secrets: none(), policies: none() };
      this.#shared.set(key, changes);
    }
    return changes;
  }
}
