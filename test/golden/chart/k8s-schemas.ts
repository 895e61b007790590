// Offline validation of rendered manifests: the Kubernetes OpenAPI v3 documents of the
// k8s.io/kubernetes module and the openAPIV3Schema of CRDs (the Gateway API's, and any the
// chart ships), compiled by ajv. The API server prunes or refuses unknown fields (strict field
// validation), which the published schemas do not express, so every object schema that lists
// its properties is closed here (unless it preserves unknown fields): a misspelt field fails
// like it would on `kubectl apply --validate=strict`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

type Schema = Record<string, unknown>;
type Gvk = { group: string; version: string; kind: string };

const key = (g: Gvk) => `${g.group === '' ? '' : `${g.group}/`}${g.version}/${g.kind}`;

/** Closes every object schema that names its properties, recursively (see the header). */
function close(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(close);
  if (typeof s !== 'object' || s === null) return s;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([p, ps]) => [p, close(ps)])) : close(v);
  if (out.properties !== undefined && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  return out;
}

export class ManifestValidator {
  private readonly ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  // Schemas by GVK, compiled on first use: compiling all of Kubernetes' takes seconds.
  private readonly byKind = new Map<string, Schema>();
  private readonly compiled = new Map<string, ValidateFunction>();

  /** Loads every component schema of `<kubernetesDir>/api/openapi-spec/v3`. */
  addKubernetes(kubernetesDir: string): void {
    const dir = join(kubernetesDir, 'api/openapi-spec/v3');
    const schemas: Record<string, Schema> = {};
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const doc = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { components?: { schemas?: Record<string, Schema> } };
      Object.assign(schemas, doc.components?.schemas ?? {});
    }
    // One document, so the files' `#/components/schemas/...` references resolve inside it.
    this.ajv.addSchema({ $id: 'k8s', components: { schemas: close(schemas) } });
    for (const [name, s] of Object.entries(schemas)) {
      const gvks = (s['x-kubernetes-group-version-kind'] as Gvk[] | undefined) ?? [];
      // List and watch-event types share GVKs with their items in some documents; the object wins.
      for (const g of gvks) if (!name.endsWith('List') && !name.endsWith('WatchEvent')) this.byKind.set(key(g), { $ref: `k8s#/components/schemas/${name}` });
    }
  }

  /** Loads the openAPIV3Schema of every version of the CRDs in a YAML file's documents. */
  addCrds(yamlText: string): void {
    for (const doc of parseAllDocuments(yamlText).map((d) => d.toJS() as Schema | null)) {
      if (doc?.kind !== 'CustomResourceDefinition') continue;
      const spec = doc.spec as { group: string; names: { kind: string }; versions: { name: string; schema?: { openAPIV3Schema?: Schema } }[] };
      for (const v of spec.versions) {
        const s = v.schema?.openAPIV3Schema;
        if (s !== undefined) this.byKind.set(key({ group: spec.group, version: v.name, kind: spec.names.kind }), close(s) as Schema);
      }
    }
  }

  /** Loads every CRD file (`*.yaml`) of a directory. */
  addCrdDir(dir: string): void {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) this.addCrds(readFileSync(join(dir, f), 'utf8'));
  }

  /** The problems of one object, as `Kind/name: path message` lines; empty when it is valid. */
  validate(obj: Schema): string[] {
    const [group, version] = String(obj.apiVersion).includes('/') ? String(obj.apiVersion).split('/') : ['', String(obj.apiVersion)];
    const name = `${String(obj.kind)}/${String((obj.metadata as Schema | undefined)?.name)}`;
    const gvk = key({ group: group ?? '', version: version ?? '', kind: String(obj.kind) });
    const schema = this.byKind.get(gvk);
    if (schema === undefined) return [`${name}: no schema for ${String(obj.apiVersion)} ${String(obj.kind)}`];
    const check = this.compiled.get(gvk) ?? this.ajv.compile(schema);
    this.compiled.set(gvk, check);
    if (check(obj)) return [];
    return (check.errors ?? []).map((e) => `${name}: ${e.instancePath || '/'} ${e.message ?? ''}${e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : ''}`);
  }
}
