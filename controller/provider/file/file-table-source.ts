// File mode: a manifest directory, translated in process, as the agent's table source. Every
// settled change re-reads the directory, translates it and pushes the new table; the agent
// validates and swaps it atomically. Broken documents and routes that are not accepted are
// logged with their file and reason, and the valid rest still applies.
import type { RoutingTable } from '../../../api/routing-table.ts';
import { ManualTableSource } from '../../../api/table-source.ts';
import { translate } from '../../translate/index.ts';
import { buildSnapshot, type KubeObject, type StatusUpdate } from '../../translate/snapshot.ts';
import { formatProblem, type ReadResult } from './read-manifests.ts';
import { watchManifests, type ManifestWatcher } from './watch-manifests.ts';

export interface FileTableSourceOptions {
  dir: string;
  gatewayAddresses?: Record<string, string[]>;
  /** Addresses of the ingress serving every Gateway in the directory (file mode has one). */
  ingressAddresses?: string[];
  log?: (line: string) => void;
  /** Only report unhealthy conditions of these kinds (a sidecar does not care about Gateways). */
  reportKinds?: string[];
  /** Objects added to the directory's (`meshlet dev` describes its own pods: meshed, with a service account). */
  extraObjects?: KubeObject[];
}

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

export class FileTableSource {
  readonly #opts: FileTableSourceOptions;
  readonly #tables = new ManualTableSource();
  #lastReport = '';
  #watcher: ManifestWatcher | null = null;
  readonly #lastGood = new Map<string, KubeObject[]>();

  constructor(opts: FileTableSourceOptions) {
    this.#opts = opts;
  }

  get current(): RoutingTable | null {
    return this.#tables.current;
  }

  start(): this {
    this.#watcher ??= watchManifests(this.#opts.dir, (r) => this.#apply(r));
    return this;
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = null;
  }

  subscribe(onTable: (t: RoutingTable) => void): () => void {
    return this.#tables.subscribe(onTable);
  }

  /** Resolves with the first table (or the current one). */
  ready(timeoutMs = 10_000): Promise<RoutingTable> {
    return this.#tables.ready(timeoutMs, this.#opts.dir);
  }

  /**
   * A file with a broken document keeps its last good content in force: a half-saved edit must
   * not withdraw the routes and Services the rest of that file still defines.
   */
  #objectsKeepingLastGood(read: ReadResult): { objects: KubeObject[]; kept: string[] } {
    const broken = new Set(read.problems.map((p) => p.file));
    const byFile = new Map<string, KubeObject[]>();
    for (const o of read.objects) byFile.set(o.file, [...(byFile.get(o.file) ?? []), o.object]);
    const kept: string[] = [];
    for (const file of broken) {
      const last = this.#lastGood.get(file);
      if (last) {
        byFile.set(file, last);
        kept.push(file);
      }
    }
    for (const [file, objects] of byFile) if (!broken.has(file)) this.#lastGood.set(file, objects);
    for (const file of this.#lastGood.keys()) if (!read.files.includes(file)) this.#lastGood.delete(file);
    return { objects: [...byFile.values()].flat(), kept };
  }

  #apply(read: ReadResult): void {
    const log = this.#opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
    const { objects: fromFiles, kept } = this.#objectsKeepingLastGood(read);
    const objects = [...fromFiles, ...(this.#opts.extraObjects ?? [])];
    const gatewayAddresses = { ...this.#opts.gatewayAddresses };
    if (this.#opts.ingressAddresses?.length) {
      for (const o of objects) if (o.kind === 'Gateway') gatewayAddresses[`${o.metadata.namespace ?? 'default'}/${o.metadata.name}`] ??= this.#opts.ingressAddresses;
    }
    const { snapshot } = buildSnapshot(objects, { gatewayAddresses });
    const { ir, statuses } = translate(snapshot);
    const shown = this.#opts.reportKinds ? statuses.filter((st) => this.#opts.reportKinds!.includes(st.kind)) : statuses;
    const report = [
      ...read.problems.map((p) => `${formatProblem(p)}`),
      ...kept.map((f) => `${f}: keeping its last good version until it parses again`),
      ...unhealthyConditions(shown),
    ].join('\n');
    if (report !== this.#lastReport) {
      if (report) log(report);
      this.#lastReport = report;
    }
    if (this.#tables.current?.version === ir.version) return;
    this.#tables.push(ir);
  }
}
