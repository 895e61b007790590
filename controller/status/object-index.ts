// The status writer finds the object each status is written to by kind, namespace and name. A
// find() per status made every pass quadratic; a Map built per snapshot made every pass linear in
// the mesh even when one route changed (10 000 keys hashed per snapshot, issue 14). The provider
// keeps each kind's objects in a stable order and hands out the same object while it is unchanged,
// so this index follows a kind's list from one snapshot to the next by walking it position by
// position and re-keying only the objects that were replaced: pointer comparisons, no strings,
// for all the objects that did not change. A list whose length or names moved is indexed afresh.
import type { KubeObject, Snapshot } from '../translate/snapshot.ts';

export type Bucket = keyof Omit<Snapshot, 'gatewayAddresses' | 'trustDomain' | 'gatewayApiBundleVersion'>;

/** `namespace/name`, the key objects are found by (cluster-scoped objects: `/name`). */
export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function keyOf(o: KubeObject): string {
  return objectKey(o.metadata.namespace, o.metadata.name);
}

interface Indexed {
  list: KubeObject[];
  byKey: Map<string, KubeObject>;
}

function indexAfresh(list: KubeObject[]): Indexed {
  const byKey = new Map<string, KubeObject>();
  for (const o of list) {
    const key = keyOf(o);
    if (!byKey.has(key)) byKey.set(key, o); // the first of a name, as find() did
  }
  return { list, byKey };
}

/** Objects by kind and `namespace/name`, following each kind's list across snapshots. */
export class ObjectIndex {
  readonly #kinds = new Map<Bucket, Indexed>();
  /** Objects whose key was computed while following lists (tests: what a new snapshot cost). */
  rekeyed = 0;

  /** The object of `bucket` named `key` (objectKey()) in `snapshot`. */
  get(snapshot: Snapshot, bucket: Bucket, key: string): KubeObject | undefined {
    const list = snapshot[bucket];
    let kind = this.#kinds.get(bucket);
    if (kind?.list !== list) {
      kind = kind ? this.#follow(kind, list) : indexAfresh(list);
      this.#kinds.set(bucket, kind);
    }
    return kind.byKey.get(key);
  }

  #follow(prev: Indexed, list: KubeObject[]): Indexed {
    if (prev.list.length !== list.length) return indexAfresh(list);
    // Updated in place: only the latest snapshot's index is kept (the writer works on the latest).
    const byKey = prev.byKey;
    for (let i = 0; i < list.length; i++) {
      const before = prev.list[i]!;
      const after = list[i]!;
      if (before === after) continue;
      this.rekeyed++;
      const key = keyOf(after);
      if (key !== keyOf(before)) return indexAfresh(list);
      // Replaced in place: the same name at the same position. Only the first of a name is kept.
      if (byKey.get(key) === before) byKey.set(key, after);
    }
    return { list, byKey };
  }
}
