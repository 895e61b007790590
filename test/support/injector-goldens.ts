// The injector's golden cases (test/golden/injector), shared by the three tests that read
// them: inject() itself, `meshlet inject` and the webhook. `<case>.in.yaml` holds manifests,
// the optional `<case>.mesh.yaml` mesh-config overrides, and `<case>.out.yaml` what
// `meshlet inject -f <case>.in.yaml [--mesh-config <case>.mesh.yaml]` prints, below a header of
// `# meshlet inject: ` lines giving its exit code and stderr. Also: the pods inside manifests
// as the API server would show them to the webhook, and an HTTPS client for the webhook.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:https';
import { parse, parseAllDocuments } from 'yaml';
import { resolveMeshConfig, type MeshConfig, type Pod } from '../../injector/inject/index.ts';
import { injectManifests } from '../../injector/manifests.ts';

import { goldenCases } from './golden.ts';

export const INJECTOR_CASES_DIR = fileURLToPath(new URL('../golden/injector/', import.meta.url));
const HEADER = '# meshlet inject: ';

export interface InjectorCase {
  name: string;
  inFile: string;
  outFile: string;
  meshFile: string | null;
  mesh: MeshConfig;
}

export function injectorCases(): InjectorCase[] {
  return goldenCases(INJECTOR_CASES_DIR).map((c) => {
    const meshFile = join(INJECTOR_CASES_DIR, `${c.name}.mesh.yaml`);
    const hasMesh = existsSync(meshFile);
    return {
      ...c,
      meshFile: hasMesh ? meshFile : null,
      mesh: resolveMeshConfig(hasMesh ? parse(readFileSync(meshFile, 'utf8')) as unknown : {}),
    };
  });
}

export interface GoldenOutput {
  exit: number;
  stderr: string[];
  stdout: string;
}

/** The .out.yaml text for a case, computed from the manifests. */
export function renderGolden(c: InjectorCase): string {
  const r = injectManifests(readFileSync(c.inFile, 'utf8'), c.mesh);
  const cmd = `meshlet inject -f ${c.name}.in.yaml${c.meshFile ? ` --mesh-config ${c.name}.mesh.yaml` : ''}`;
  const header = [
    `written by test/golden/injector/golden.test.ts with UPDATE_GOLDEN=1: what \`${cmd}\` prints`,
    `exit ${r.errors.length > 0 ? 1 : 0}`,
    ...[...r.errors.map((e) => `error: ${e}`), ...r.messages].map((l) => `stderr: ${l}`),
  ];
  return header.map((l) => `${HEADER}${l}\n`).join('') + r.text;
}

export function parseGolden(text: string): GoldenOutput {
  const lines = text.split('\n');
  let i = 0;
  const out: GoldenOutput = { exit: 0, stderr: [], stdout: '' };
  for (; i < lines.length && lines[i]!.startsWith(HEADER); i++) {
    const l = lines[i]!.slice(HEADER.length);
    if (l.startsWith('exit ')) out.exit = Number(l.slice(5));
    else if (l.startsWith('stderr: ')) out.stderr.push(l.slice(8));
  }
  out.stdout = lines.slice(i).join('\n');
  return out;
}

// The pods inside manifests: a Pod as is, a workload's pod template as a Pod in its namespace
// with the name, generateName, labels and controller reference its controller gives it, so the
// webhook derives the same workload from the pod as `meshlet inject` from the manifest.
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ManifestPod {
  /** Where it sits: `document 1`, `document 2 item 3`. */
  where: string;
  namespace: string;
  pod: Pod;
  /** The template (or Pod) object in the parsed manifest, for comparing with the golden's. */
  path: string[];
}

function template(o: Obj): { t: Obj; path: string[] } | null {
  const spec = isObj(o.spec) ? o.spec : null;
  if (o.kind === 'Pod') return { t: o, path: [] };
  if (!spec) return null;
  if (o.kind === 'CronJob') {
    const job = isObj(spec.jobTemplate) && isObj(spec.jobTemplate.spec) ? spec.jobTemplate.spec : null;
    return job && isObj(job.template) ? { t: job.template, path: ['spec', 'jobTemplate', 'spec', 'template'] } : null;
  }
  return isObj(spec.template) ? { t: spec.template, path: ['spec', 'template'] } : null;
}

const HASH = '7d9c8b6f4d';

function admitted(kind: string, name: string, meta: Obj, namespace: string): Obj {
  const labels = isObj(meta.labels) ? meta.labels : {};
  const owner = (k: string, n: string): Obj[] => [{ apiVersion: 'apps/v1', kind: k, name: n, uid: 'u', controller: true }];
  switch (kind) {
    case 'Deployment':
      return { ...meta, namespace, generateName: `${name}-${HASH}-`, labels: { ...labels, 'pod-template-hash': HASH }, ownerReferences: owner('ReplicaSet', `${name}-${HASH}`) };
    case 'CronJob':
      return { ...meta, namespace, generateName: `${name}-29412345-`, ownerReferences: owner('Job', `${name}-29412345`) };
    case 'StatefulSet':
      return { ...meta, namespace, name: `${name}-0`, ownerReferences: owner(kind, name) };
    default:
      return { ...meta, namespace, generateName: `${name}-`, ownerReferences: owner(kind, name) };
  }
}

function collect(o: unknown, where: string, out: ManifestPod[]): void {
  if (!isObj(o)) return;
  if (o.kind === 'List' && Array.isArray(o.items)) {
    o.items.forEach((item, i) => collect(item, `${where} item ${i + 1}`, out));
    return;
  }
  const found = template(o);
  if (!found) return;
  const meta = isObj(o.metadata) ? o.metadata : {};
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  const pod: Pod = o.kind === 'Pod'
    ? o as Pod
    : { apiVersion: 'v1', kind: 'Pod', metadata: admitted(String(o.kind), typeof meta.name === 'string' ? meta.name : '', isObj(found.t.metadata) ? found.t.metadata : {}, namespace), spec: found.t.spec as Pod['spec'] };
  out.push({ where, namespace, pod, path: found.path });
}

export function podsOf(text: string): ManifestPod[] {
  const out: ManifestPod[] = [];
  parseAllDocuments(text).forEach((doc, i) => collect(doc.toJS(), `document ${i + 1}`, out));
  return out;
}

export interface PostResult { status: number; body: string }

/** POSTs `body` to the webhook over HTTPS, trusting `ca` for `servername` (sent as SNI). */
export function postReview(port: number, ca: string, body: string, opts: { path?: string; contentType?: string; method?: string; servername?: string } = {}): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path: opts.path ?? '/inject', method: opts.method ?? 'POST', ca, servername: opts.servername ?? 'meshlet-controller.meshlet-system.svc',
      headers: { 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(body) },
      timeout: 10_000,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** A v1 AdmissionReview for creating `pod` in `namespace`. */
export function podReview(uid: string, pod: unknown, namespace: string): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      namespace, operation: 'CREATE', object: pod, dryRun: false,
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
    },
  });
}
