// The seams where incremental translation (incremental.ts) may hand back a previous round's
// result instead of computing it again. translate() without a memo computes everything; with
// one, each seam asks the memo, which either returns what it kept (when nothing that part read
// has changed) or calls `build`. Every seam returns exactly what `build` would: the memo only
// decides whether to call it.
import type { RoutingTable, ServiceFrontendIR } from '../../api/routing-table.ts';
import type { MeshParentResult } from './attach-mesh.ts';
import type { BackendCatalog, BackendMaker } from './backends.ts';
import type { Attached } from './conflicts.ts';
import type { Lookup } from './lookup.ts';
import type { CompiledRoute, RouteKind } from './rules.ts';
import type { ParentOutcome } from './route-status.ts';
import type { RouteWork } from './index.ts';
import type { KubeObject, Snapshot, StatusUpdate, TranslateResult } from './snapshot.ts';
import type { Rec } from './util.ts';

/** One route's work that does not depend on Gateways: its compiled forms and its Service parents. */
export interface RouteUnit {
  /** Its parentRefs in order (duplicates removed); Gateway ones are attached afresh every round. */
  parents: ({ type: 'mesh'; route: CompiledRoute; parent: MeshParentResult } | { type: 'gateway'; route: CompiledRoute; ref: Rec })[];
}

export interface TranslationMemo {
  lookup(snapshot: Snapshot, build: () => Lookup): Lookup;
  routeUnit(obj: KubeObject, kind: RouteKind, lookup: Lookup, catalog: BackendCatalog, build: (lookup: Lookup, catalog: BackendCatalog) => RouteUnit): RouteUnit;
  backend: BackendMaker;
  /** A Service's frontend from its live mesh attachments (null: not a frontend, no ClusterIP); `key`: its `namespace/name`. */
  frontend(svc: KubeObject, key: string, live: Attached<MeshParentResult>[], build: () => ServiceFrontendIR | null): ServiceFrontendIR | null;
  withVersion(table: Omit<RoutingTable, 'version'>): RoutingTable;
  routeStatus(obj: KubeObject, outcomes: ParentOutcome[], build: () => StatusUpdate | null): StatusUpdate | null;
  /** `items` sorted by `compare` (stable), as a new array: the memo may reuse last round's order of the same seam. */
  sorted<T>(seam: SortSeam, items: T[], compare: (a: T, b: T) => number): T[];
  /** The round's routes with their attachments (conflicts resolved) and its result: what a later route patch starts from (route-patch.ts). */
  translated?(work: RouteWork[], result: TranslateResult): void;
}

/** The lists translation sorts every round. */
export type SortSeam = 'statuses' | 'frontends' | 'backends';
