// The pods inside manifests as the API server would show them to the webhook: a Pod as is, and
// for a workload its pod template as a Pod in the workload's namespace.
import { parseAllDocuments } from 'yaml';
import type { Pod } from '../../injector/inject/index.ts';

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
    : { apiVersion: 'v1', kind: 'Pod', metadata: { ...(isObj(found.t.metadata) ? found.t.metadata : {}), namespace }, spec: found.t.spec as Pod['spec'] };
  out.push({ where, namespace, pod, path: found.path });
}

export function podsOf(text: string): ManifestPod[] {
  const out: ManifestPod[] = [];
  parseAllDocuments(text).forEach((doc, i) => collect(doc.toJS(), `document ${i + 1}`, out));
  return out;
}
