// Service ports → endpoints. EndpointSlices name their ports like the Service does, and carry
// the target port number, so a Service port is resolved to the pod port by name (an unnamed
// single port matches the slice's unnamed port). An endpoint is meshed (mTLS, expected identity
// from its Pod's service account) only when its Pod carries the injector's label: a pod in an
// unlabelled namespace has no sidecar to answer mTLS, and sending it TLS would break it.
import type { EndpointIR } from '../../api/routing-table.ts';
import { spiffeId } from '../../api/names.ts';
import { MESHED_POD_LABEL } from '../../api/pod-annotations.ts';
import type { Lookup } from './lookup.ts';
import type { KubeObject } from './snapshot.ts';
import { int, list, namespaceOf, nsName, rec, recs, specOf, str } from './util.ts';

export interface ServicePort {
  port: number;
  name: string | null;
  appProtocol: string | null;
}

export function servicePorts(svc: KubeObject): ServicePort[] {
  const out: ServicePort[] = [];
  for (const p of recs(specOf(svc).ports)) {
    const port = int(p.port);
    const protocol = str(p.protocol) ?? 'TCP';
    if (port === undefined || port < 1 || port > 65535 || protocol !== 'TCP') continue;
    const name = str(p.name);
    out.push({ port, name: name && name.length > 0 ? name : null, appProtocol: str(p.appProtocol) ?? null });
  }
  return out.sort((a, b) => a.port - b.port);
}

function bool(v: unknown, fallback: boolean): boolean {
  return typeof v === 'boolean' ? v : fallback;
}

export function endpointsFor(lookup: Lookup, svc: KubeObject, port: ServicePort): EndpointIR[] {
  const namespace = namespaceOf(svc);
  const slices = lookup.slices.get(nsName(namespace, svc.metadata.name)) ?? [];
  const seen = new Map<string, EndpointIR>();
  for (const slice of slices) {
    // FQDN slices name hosts, not addresses the data plane can connect to.
    if (slice.addressType === 'FQDN') continue;
    const sp = recs(slice.ports).find((p) => (str(p.name) ?? '') === (port.name ?? ''));
    const targetPort = sp ? int(sp.port) : undefined;
    if (targetPort === undefined || targetPort < 1 || targetPort > 65535) continue;
    for (const ep of recs(slice.endpoints)) {
      const cond = rec(ep.conditions);
      const ready = bool(cond.ready, true);
      const target = rec(ep.targetRef);
      const podName = str(target.kind) === 'Pod' ? str(target.name) ?? null : null;
      let identity: string | null = null;
      if (podName !== null) {
        const pod = lookup.pods.get(nsName(str(target.namespace) ?? namespace, podName));
        if (pod && pod.metadata.labels?.[MESHED_POD_LABEL] !== undefined) identity = spiffeId(namespaceOf(pod), str(specOf(pod).serviceAccountName) || 'default', lookup.trustDomain);
      }
      for (const address of list(ep.addresses)) {
        if (typeof address !== 'string' || address === '') continue;
        const key = `${address}|${targetPort}`;
        if (seen.has(key)) continue;
        seen.set(key, {
          address,
          port: targetPort,
          ready,
          serving: bool(cond.serving, ready),
          terminating: bool(cond.terminating, false),
          zone: str(ep.zone) ?? null,
          nodeName: str(ep.nodeName) ?? null,
          podName,
          identity,
        });
      }
    }
  }
  return [...seen.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
}
