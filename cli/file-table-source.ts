// File mode: a manifest directory, translated in process, as the agent's table source. Every
// settled change re-reads the directory, translates it and pushes the new table; the agent
// validates and swaps it atomically. Broken documents and routes that are not accepted are
// logged with their file and reason, and the valid rest still applies.
import type { RoutingTable } from '../api/routing-table.ts';
import { watchManifests, type ManifestWatcher, type ReadResult } from '../controller/provider/file/index.ts';
import { translate } from '../controller/translate/index.ts';
import { buildSnapshot, type StatusUpdate } from '../controller/translate/snapshot.ts';
import { formatProblem } from './load-input.ts';

export interface FileTableSourceOptions {
  dir: string;
  gatewayAddresses?: Record<string, string[]>;
  log?: (line: string) => void;
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
  readonly #listeners = new Set<(t: RoutingTable) => void>();
  #current: RoutingTable | null = null;
  #lastReport = '';
  #watcher: ManifestWatcher | null = null;

  constructor(opts: FileTableSourceOptions) {
    this.#opts = opts;
  }

  get current(): RoutingTable | null {
    return this.#current;
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
    this.#listeners.add(onTable);
    if (this.#current) onTable(this.#current);
    return () => void this.#listeners.delete(onTable);
  }

  /** Resolves with the first table (or the current one). */
  ready(timeoutMs = 10_000): Promise<RoutingTable> {
    if (this.#current) return Promise.resolve(this.#current);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no routing table from ${this.#opts.dir} after ${timeoutMs} ms`)), timeoutMs);
      const off = this.subscribe((t) => { clearTimeout(timer); off(); resolve(t); });
    });
  }

  #apply(read: ReadResult): void {
    const log = this.#opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
    const { snapshot } = buildSnapshot(read.objects.map((o) => o.object), { gatewayAddresses: this.#opts.gatewayAddresses ?? {} });
    const { ir, statuses } = translate(snapshot);
    const report = [...read.problems.map((p) => `skipped ${formatProblem(p)}`), ...unhealthyConditions(statuses)].join('\n');
    if (report !== this.#lastReport) {
      if (report) log(report);
      this.#lastReport = report;
    }
    if (this.#current?.version === ir.version) return;
    this.#current = ir;
    for (const l of [...this.#listeners]) l(ir);
  }
}
