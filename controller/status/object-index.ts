// The status writer finds the object each status is written to by kind, namespace and name. A
// find() per status made every pass quadratic; a Map built per snapshot made every pass linear in
// the mesh even when one route changed (10 000 keys hashed per snapshot, issue 14). The provider
// keeps each kind's objects in a stable order and hands out the same object while it is unchanged,
// so this index follows a kind's list from one snapshot to the next by walking it position by
// position and re-keying only the objects that were replaced: pointer comparisons, no strings,
// for all the objects that did not change. A list whose length or names moved is indexed afresh.
// still() answers whether an object found earlier is still the answer without a key at all: the
// writer's pass over statuses that did not move builds and hashes no string (issue 14).
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
  /** Objects replaced in a followed list: no longer the answer for their key (unless back). */
  readonly #dropped = new WeakSet<KubeObject>();
  #epoch = 0;

  /** Moves when a list is indexed afresh: an object found before may be gone without being replaced. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Whether `o`, the answer of get() for its key in `bucket` while epoch() was `epoch`, is still
   * the answer in `snapshot`: it was neither replaced since nor its list indexed afresh.
   */
  still(snapshot: Snapshot, bucket: Bucket, o: KubeObject, epoch: number): boolean {
    this.#sync(snapshot, bucket);
    return epoch === this.#epoch && !this.#dropped.has(o);
  }

  /** The object of `bucket` named `key` (objectKey()) in `snapshot`. */
  get(snapshot: Snapshot, bucket: Bucket, key: string): KubeObject | undefined {
    return this.#sync(snapshot, bucket).byKey.get(key);
  }

  #sync(snapshot: Snapshot, bucket: Bucket): Indexed {
    const list = snapshot[bucket];
    let kind = this.#kinds.get(bucket);
    if (kind?.list !== list) {
      kind = kind ? this.#follow(kind, list) : this.#afresh(list);
      this.#kinds.set(bucket, kind);
    }
    return kind;
  }

  #afresh(list: KubeObject[]): Indexed {
    this.#epoch++;
    return indexAfresh(list);
  }

  #follow(prev: Indexed, list: KubeObject[]): Indexed {
    if (prev.list.length !== list.length) return this.#afresh(list);
    // Updated in place: only the latest snapshot's index is kept (the writer works on the latest).
    const byKey = prev.byKey;
    for (let i = 0; i < list.length; i++) {
      const before = prev.list[i]!;
      const after = list[i]!;
      if (before === after) continue;
      this.rekeyed++;
      const key = keyOf(after);
      if (key !== keyOf(before)) return this.#afresh(list);
      // Replaced in place: the same name at the same position. Only the first of a name is kept.
      this.#dropped.add(before);
      this.#dropped.delete(after);
      if (byKey.get(key) === before) byKey.set(key, after);
    }
    return { list, byKey };
  }
}
