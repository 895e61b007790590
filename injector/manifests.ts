// inject() over manifests, as `meshlet inject -f` and kubectl users see them: multi-document
// YAML holding Pods, workloads with pod templates (Deployment, StatefulSet, DaemonSet,
// ReplicaSet, Job, CronJob) and Lists of them. Documents of other kinds, and workloads left
// alone, are written back as they were read, comments included. Any error (a document that
// does not parse, an invalid annotation) means no output at all: a pipe into `kubectl apply`
// must never receive half the manifests, or a pod that is half injected.
import { parseAllDocuments, stringify } from 'yaml';
import { inject } from './inject/inject.ts';
import type { MeshConfig } from './inject/mesh-config.ts';
import type { Pod } from './inject/types.ts';
import { MeshletError } from '../api/errors.ts';

export interface ManifestResult {
  /** The manifests to print; empty when there are errors. */
  text: string;
  /** Warnings and skip reasons, one line each, naming the document. */
  messages: string[];
  errors: string[];
  /** How many pod specs were injected. */
  injected: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

/** Where the pod template of `obj` lives, or null for kinds without one. */
function templateOf(obj: Obj): Obj | null {
  const spec = obj.spec;
  if (!isObj(spec)) return null;
  if (TEMPLATE_KINDS.has(obj.kind as string)) return isObj(spec.template) ? spec.template : null;
  if (obj.kind === 'CronJob') {
    const job = spec.jobTemplate;
    return isObj(job) && isObj(job.spec) && isObj(job.spec.template) ? job.spec.template : null;
  }
  return null;
}

interface Ctx { mesh: MeshConfig; messages: string[]; errors: string[]; injected: number }

/** Injects `obj` in place; true when it changed. */
function injectObject(obj: unknown, where: string, ctx: Ctx): boolean {
  if (!isObj(obj)) return false;
  if (obj.kind === 'List' && Array.isArray(obj.items)) {
    let changed = false;
    obj.items.forEach((item, i) => { changed = injectObject(item, `${where} item ${i + 1}`, ctx) || changed; });
    return changed;
  }
  const meta = isObj(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? meta.generateName : '';
  const label = `${where} (${String(obj.kind)}/${name})`;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  const template = obj.kind === 'Pod' ? obj : templateOf(obj);
  if (!template) return false;
  const pod = { metadata: template.metadata, spec: template.spec } as Pod;
  try {
    const r = inject(pod, { name: namespace }, ctx.mesh, obj.kind === 'Pod' ? undefined : { kind: String(obj.kind), name: typeof meta.name === 'string' ? meta.name : '' });
    for (const w of r.warnings) ctx.messages.push(`${label}: warning: ${w}`);
    if (!r.injected) {
      if (r.warnings.length === 0) ctx.messages.push(`${label}: skipped: ${r.skipped ?? ''}`);
      return false;
    }
    template.metadata = r.pod.metadata;
    template.spec = r.pod.spec;
    ctx.injected += 1;
    return r.patch.length > 0;
  } catch (err) {
    if (!(err instanceof MeshletError)) throw err;
    ctx.errors.push(`${label}: ${err.message}`);
    return false;
  }
}

/** Splits at `---` lines, so a document left alone can be written back byte for byte. */
function chunks(text: string): string[] {
  return text.split(/^---[ \t]*(?:#.*)?$\n?/m);
}

// YAML 1.1 output: kubectl reads 1.1, where an unquoted `off` or `yes` would become a boolean.
const stringifyDoc = (v: unknown): string => stringify(v, { lineWidth: 0, version: '1.1', aliasDuplicateObjects: false });

export function injectManifests(text: string, mesh: MeshConfig): ManifestResult {
  const ctx: Ctx = { mesh, messages: [], errors: [], injected: 0 };
  const out: string[] = [];
  let n = 0;
  for (const chunk of chunks(text)) {
    const docs = parseAllDocuments(chunk);
    const parsed: { value: unknown; changed: boolean }[] = [];
    for (const doc of docs) {
      const where = `document ${++n}`;
      if ('errors' in doc && doc.errors.length > 0) {
        ctx.errors.push(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
        continue;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) {
        n -= 1; // comments only: not a document the user would count
        continue;
      }
      parsed.push({ value, changed: injectObject(value, where, ctx) });
    }
    if (parsed.length === 1 && !parsed[0]!.changed) out.push(chunk.endsWith('\n') ? chunk : `${chunk}\n`);
    else out.push(...parsed.map((p) => stringifyDoc(p.value)));
  }
  const failed = ctx.errors.length > 0;
  return { text: failed ? '' : out.join('---\n'), messages: ctx.messages, errors: ctx.errors, injected: failed ? 0 : ctx.injected };
}
