// Indexes over the snapshot that several translation steps share: Services, EndpointSlices by
// Service, Pods and Namespace labels by name. Built once per translate() call. A Lookup lives
// until the next one (the incremental translator keeps it), so its keys are interned: one flat
// copy of each `namespace/name`, shared with every other holder (common/intern.ts).
import { DEFAULT_TRUST_DOMAIN } from '../../api/names.ts';
import { intern } from '../../common/intern.ts';
import type { KubeObject, Snapshot } from './snapshot.ts';
import { isRec, nameOf, namespaceOf, nsName, str } from './util.ts';

export class Lookup {
  readonly services = new Map<string, KubeObject>();
  readonly slices = new Map<string, KubeObject[]>();
  readonly pods = new Map<string, KubeObject>();
  readonly namespaces = new Map<string, Record<string, string>>();
  readonly grants: KubeObject[];
  readonly trustDomain: string;

  constructor(snapshot: Snapshot) {
    for (const s of snapshot.services) {
      const name = nameOf(s);
      if (name) this.services.set(intern(nsName(namespaceOf(s), name)), s);
    }
    for (const es of snapshot.endpointSlices) {
      const svc = str(es.metadata?.labels?.['kubernetes.io/service-name']);
      if (!svc) continue;
      const key = intern(nsName(namespaceOf(es), svc));
      const list = this.slices.get(key) ?? [];
      list.push(es);
      this.slices.set(key, list);
    }
    for (const p of snapshot.pods) {
      const name = nameOf(p);
      if (name) this.pods.set(intern(nsName(namespaceOf(p), name)), p);
    }
    for (const n of snapshot.namespaces) {
      const name = nameOf(n);
      if (!name) continue;
      const labels: Record<string, string> = {};
      const raw: unknown = n.metadata.labels;
      if (isRec(raw)) for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') labels[k] = v;
      this.namespaces.set(name, labels);
    }
    this.grants = snapshot.referenceGrants;
    this.trustDomain = snapshot.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  }

  #grantsByNamespace: Map<string, KubeObject[]> | undefined;

  /** The ReferenceGrants in one namespace (the only ones that can allow a reference into it). */
  grantsInto(namespace: string): KubeObject[] {
    if (!this.#grantsByNamespace) {
      this.#grantsByNamespace = new Map();
      for (const g of this.grants) {
        const ns = namespaceOf(g);
        this.#grantsByNamespace.set(ns, [...(this.#grantsByNamespace.get(ns) ?? []), g]);
      }
    }
    return this.#grantsByNamespace.get(namespace) ?? [];
  }

  service(namespace: string, name: string): KubeObject | undefined {
    return this.services.get(nsName(namespace, name));
  }

  /** Labels of a namespace; Kubernetes always sets kubernetes.io/metadata.name, so we do too. */
  namespaceLabels(namespace: string): Record<string, string> {
    return { ...this.namespaces.get(namespace), 'kubernetes.io/metadata.name': namespace };
  }
}
