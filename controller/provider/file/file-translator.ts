// What file mode does with each settled read of the directory: keep the last good content of
// files that no longer parse, translate, and say what is unhealthy. Runs inside the translation
// worker (file-source-worker.ts), never on the thread that serves requests (issue 15).
import type { RoutingTable } from '../../../api/routing-table.ts';
import { IncrementalTranslator } from '../../translate/index.ts';
import { buildSnapshot, type KubeObject, type Snapshot } from '../../translate/snapshot.ts';
import { gunzipSync } from 'node:zlib';
import { formatProblem, parseManifestFile, type ReadResult } from './read-manifests.ts';
import { unhealthyConditions } from './unhealthy-conditions.ts';

/**
 * Where a previous translator of the same directory left off (a recycled worker, see
 * file-table-source.ts): its last table's version and report, so an unchanged result is neither
 * pushed nor reported again, and the gzipped text of every file as of its last clean read, so a
 * file broken by the next edit still keeps its last good content.
 */
export interface TranslatorResume {
  version: string | null;
  report: string;
  saved: Record<string, Uint8Array>;
}

/** Everything of FileTableSourceOptions that crosses to the worker (no callbacks). */
export interface FileTranslatorOptions {
  dir: string;
  gatewayAddresses?: Record<string, string[]>;
  /** Addresses of the ingress serving every Gateway in the directory (file mode has one). */
  ingressAddresses?: string[];
  /** Only report unhealthy conditions of these kinds (a sidecar does not care about Gateways). */
  reportKinds?: string[];
  /** Objects added to the directory's (`meshlet dev` describes its own pods: meshed, with a service account). */
  extraObjects?: KubeObject[];
}

export class FileTranslator {
  readonly #opts: FileTranslatorOptions;
  readonly #lastGood = new Map<string, KubeObject[]>();
  #lastReport = '';
  #lastVersion: string | null = null;
  /**
   * Translates again only the routes, frontends and backends whose objects changed: the
   * ManifestCache hands back the same object for every document whose text did not change.
   */
  readonly #translator = new IncrementalTranslator();

  /** Files' last good text from a previous translator, parsed only if that file is broken now. */
  readonly #saved = new Map<string, Uint8Array>();

  /** What the last apply() translated (references to objects held anyway), for rehearse(). */
  #lastSnapshot: Snapshot | null = null;

  constructor(opts: FileTranslatorOptions, resume?: TranslatorResume) {
    this.#opts = opts;
    if (resume) {
      this.#lastVersion = resume.version;
      this.#lastReport = resume.report;
      for (const [file, gz] of Object.entries(resume.saved)) this.#saved.set(file, gz);
    }
  }

  #savedObjects(file: string): KubeObject[] | undefined {
    const gz = this.#saved.get(file);
    if (!gz) return undefined;
    this.#saved.delete(file);
    const parsed = parseManifestFile(gunzipSync(gz).toString('utf8'), file);
    if (parsed.problems.length > 0) return undefined;
    const objects = parsed.objects.map((o) => o.object);
    this.#lastGood.set(file, objects);
    return objects;
  }

  /** The report of the last apply() (empty when all is well). */
  get report(): string {
    return this.#lastReport;
  }

  /**
   * A file with a broken document keeps its last good content in force: a half-saved edit must
   * not withdraw the routes and Services the rest of that file still defines.
   */
  #objectsKeepingLastGood(read: ReadResult): { objects: KubeObject[]; kept: string[] } {
    const broken = new Set(read.problems.map((p) => p.file));
    const byFile = new Map<string, KubeObject[]>();
    for (const o of read.objects) {
      const list = byFile.get(o.file);
      if (list) list.push(o.object);
      else byFile.set(o.file, [o.object]);
    }
    const kept: string[] = [];
    for (const file of broken) {
      const last = this.#lastGood.get(file) ?? this.#savedObjects(file);
      if (last) {
        byFile.set(file, last);
        kept.push(file);
      }
    }
    for (const [file, objects] of byFile) {
      if (broken.has(file)) continue;
      this.#lastGood.set(file, objects);
      this.#saved.delete(file);
    }
    for (const file of this.#saved.keys()) if (!read.files.includes(file)) this.#saved.delete(file);
    for (const file of this.#lastGood.keys()) if (!read.files.includes(file)) this.#lastGood.delete(file);
    return { objects: [...byFile.values()].flat(), kept };
  }

  /**
   * Runs an edit's path once, off the record, so the first real edit does not pay for it: the
   * last route of the last apply() is translated with one annotation added (its unit and the
   * frontends it attaches to are rebuilt, the rest reused, as after an edit of one route), then
   * the directory's own snapshot again, which leaves the translator holding the same results as
   * before (the same table and version; apply() still reports and pushes nothing new). Returns
   * the rehearsal's table, for the caller to serialise as it would a real one and drop, or null
   * when there is nothing to rehearse (no apply yet, no route). Without it, at 1 000 routes, the
   * first edit's translation and validation took 1.3-4x a later edit's (cold code; ADR 0016).
   */
  rehearse(): RoutingTable | null {
    const snapshot = this.#lastSnapshot;
    if (!snapshot) return null;
    const field = snapshot.httpRoutes.length > 0 ? 'httpRoutes' : snapshot.grpcRoutes.length > 0 ? 'grpcRoutes' : null;
    if (field === null) return null;
    const routes = snapshot[field];
    const route = routes[routes.length - 1]!;
    const edited: KubeObject = { ...route, metadata: { ...route.metadata, annotations: { ...route.metadata.annotations, 'meshlet.dev/rehearsal': 'true' } } };
    const { ir } = this.#translator.translate({ ...snapshot, [field]: [...routes.slice(0, -1), edited] });
    this.#translator.translate(snapshot);
    return ir;
  }

  /** The report if it changed since the last call (else null), and the table if its version did. */
  apply(read: ReadResult): { report: string | null; table: RoutingTable | null } {
    const { objects: fromFiles, kept } = this.#objectsKeepingLastGood(read);
    const objects = [...fromFiles, ...(this.#opts.extraObjects ?? [])];
    const gatewayAddresses = { ...this.#opts.gatewayAddresses };
    if (this.#opts.ingressAddresses?.length) {
      for (const o of objects) if (o.kind === 'Gateway') gatewayAddresses[`${o.metadata.namespace ?? 'default'}/${o.metadata.name}`] ??= this.#opts.ingressAddresses;
    }
    const { snapshot } = buildSnapshot(objects, { gatewayAddresses });
    const { ir, statuses } = this.#translator.translate(snapshot);
    this.#lastSnapshot = snapshot;
    const shown = this.#opts.reportKinds ? statuses.filter((st) => this.#opts.reportKinds!.includes(st.kind)) : statuses;
    const report = [
      ...read.problems.map((p) => `${formatProblem(p)}`),
      ...kept.map((f) => `${f}: keeping its last good version until it parses again`),
      ...unhealthyConditions(shown),
    ].join('\n');
    const changedReport = report !== this.#lastReport ? report : null;
    this.#lastReport = report;
    if (this.#lastVersion === ir.version) return { report: changedReport, table: null };
    this.#lastVersion = ir.version;
    return { report: changedReport, table: ir };
  }
}
