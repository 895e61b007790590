// The fake apiserver's storage: objects per resource, one global resourceVersion counter (as
// etcd's revision), and a bounded history of watch events so a watch can resume from a version
// or be told 410 Gone once that version has been compacted away.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

export interface FakeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  resource: string;
  type: EventType;
  object: FakeObject;
}

export type StoreErrorReason = 'NotFound' | 'AlreadyExists' | 'Conflict';

/** A failure the HTTP layer turns into a Kubernetes Status with the matching code. */
export class StoreError extends Error {
  readonly reason: StoreErrorReason;
  readonly code: number;
  constructor(reason: StoreErrorReason, message: string) {
    super(message);
    this.reason = reason;
    this.code = reason === 'NotFound' ? 404 : 409;
  }
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function objKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Everything except metadata and status: what bumps metadata.generation when it changes. */
function specPart(o: FakeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

export class FakeStore {
  private rv = 0;
  private readonly objects = new Map<string, Map<string, FakeObject>>();
  private history: StoredEvent[] = [];
  private readonly listeners = new Set<(e: StoredEvent) => void>();
  /** The oldest resourceVersion a watch may still resume from. */
  private compactedThrough = 0;
  readonly historyLimit: number;

  constructor(historyLimit = 1000) {
    this.historyLimit = historyLimit;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  list(resource: string, filter: (o: FakeObject) => boolean = () => true): FakeObject[] {
    return [...(this.objects.get(resource)?.values() ?? [])].filter(filter).map(clone)
      .sort((a, b) => objKey(a.metadata.namespace, a.metadata.name).localeCompare(objKey(b.metadata.namespace, b.metadata.name)));
  }

  get(resource: string, namespace: string | undefined, name: string): FakeObject | undefined {
    const o = this.objects.get(resource)?.get(objKey(namespace, name));
    return o && clone(o);
  }

  create(resource: string, input: FakeObject): FakeObject {
    const bucket = this.bucket(resource);
    const key = objKey(input.metadata.namespace, input.metadata.name);
    if (bucket.has(key)) throw new StoreError('AlreadyExists', `${resource} "${input.metadata.name}" already exists`);
    const obj = clone(input);
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    obj.metadata.generation = 1;
    obj.metadata.resourceVersion = String(++this.rv);
    bucket.set(key, obj);
    this.emit(resource, 'ADDED', obj);
    return clone(obj);
  }

  /**
   * Replaces an object. `part` limits what changes: 'main' keeps the stored status (a status
   * subresource exists), 'status' keeps everything but status, 'all' takes the whole input.
   * A resourceVersion in the input must match the stored one (optimistic concurrency).
   */
  update(resource: string, input: FakeObject, part: 'main' | 'status' | 'all'): FakeObject {
    const bucket = this.bucket(resource);
    const key = objKey(input.metadata.namespace, input.metadata.name);
    const old = bucket.get(key);
    if (!old) throw new StoreError('NotFound', `${resource} "${input.metadata.name}" not found`);
    const wantRv = input.metadata.resourceVersion;
    if (wantRv !== undefined && wantRv !== '' && wantRv !== old.metadata.resourceVersion) {
      throw new StoreError('Conflict', `Operation cannot be fulfilled on ${resource} "${input.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    let next: FakeObject;
    if (part === 'status') {
      next = { ...clone(old), status: clone(input.status) };
      if (input.status === undefined) delete next.status;
    } else {
      next = clone(input);
      next.metadata = { ...clone(input.metadata), uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp, generation: old.metadata.generation };
      if (part === 'main') {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
    }
    if (isDeepStrictEqual({ ...next, metadata: { ...next.metadata, resourceVersion: old.metadata.resourceVersion } }, old)) return clone(old); // no-op writes keep the version, as the real apiserver does
    if (!isDeepStrictEqual(specPart(next), specPart(old))) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    next.metadata.resourceVersion = String(++this.rv);
    bucket.set(key, next);
    this.emit(resource, 'MODIFIED', next);
    return clone(next);
  }

  delete(resource: string, namespace: string | undefined, name: string): FakeObject {
    const bucket = this.bucket(resource);
    const key = objKey(namespace, name);
    const old = bucket.get(key);
    if (!old) throw new StoreError('NotFound', `${resource} "${name}" not found`);
    bucket.delete(key);
    const gone = { ...clone(old), metadata: { ...clone(old.metadata), resourceVersion: String(++this.rv) } };
    this.emit(resource, 'DELETED', gone);
    return clone(gone);
  }

  /**
   * Events after `since`, or 'gone' when history no longer reaches back that far (the watch must
   * answer 410 and the client relist).
   */
  eventsSince(since: number): StoredEvent[] | 'gone' {
    if (since < this.compactedThrough) return 'gone';
    return this.history.filter((e) => e.rv > since).map(clone);
  }

  /** Forgets all history: every resourceVersion older than now becomes too old to watch from. */
  compact(): void {
    this.history = [];
    this.compactedThrough = this.rv;
  }

  subscribe(fn: (e: StoredEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private bucket(resource: string): Map<string, FakeObject> {
    let b = this.objects.get(resource);
    if (!b) this.objects.set(resource, b = new Map<string, FakeObject>());
    return b;
  }

  private emit(resource: string, type: EventType, object: FakeObject): void {
    const e: StoredEvent = { rv: this.rv, resource, type, object: clone(object) };
    this.history.push(e);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedThrough = dropped[dropped.length - 1]!.rv;
    }
    for (const fn of this.listeners) fn(e);
  }
}
