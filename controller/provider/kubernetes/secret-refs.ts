// Which Secrets the controller needs: the certificateRefs of Gateway listeners (core Secrets
// only). Watching just these keeps Secret contents out of memory unless a Gateway names them,
// and means the controller's RBAC can be narrowed to them. Cross-namespace refs are included:
// translate decides with ReferenceGrants whether they may be used.
import type { KubeObject } from '../../translate/snapshot.ts';

export interface SecretRef {
  namespace: string;
  name: string;
}

function recs(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)) : [];
}

export function referencedSecrets(gateways: KubeObject[]): SecretRef[] {
  const out = new Map<string, SecretRef>();
  for (const gw of gateways) {
    const ns = gw.metadata.namespace ?? 'default';
    for (const l of recs(gw.spec?.listeners)) {
      const tls = l.tls;
      if (typeof tls !== 'object' || tls === null) continue;
      for (const ref of recs((tls as Record<string, unknown>).certificateRefs)) {
        if ((ref.group ?? '') !== '' || (ref.kind ?? 'Secret') !== 'Secret' || typeof ref.name !== 'string') continue;
        const namespace = typeof ref.namespace === 'string' ? ref.namespace : ns;
        out.set(`${namespace}/${ref.name}`, { namespace, name: ref.name });
      }
    }
  }
  return [...out.values()].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}
