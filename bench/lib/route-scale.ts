// Manifests at scale: N Service-parented HTTPRoutes (all on the same Service, the worst case
// for one frontend's matcher), each matching a path prefix and a header, plus a catch-all
// route, as objects (for the micro-benchmark) or as a manifest file (for the agent's memory at
// 10 vs 10 000 routes). Written as JSON documents, which are YAML, so no YAML library needed.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Obj = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; creationTimestamp?: string } };

/** `rewriteTo`: the catch-all rewrites every path to /echo/<rewriteTo> (which body size answers). */
export function scaleObjects(n: number, upstreamPort: number, rewriteTo?: number): Obj[] {
  const ns = 'bench';
  const objs: Obj[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: ns },
      spec: { type: 'ClusterIP', clusterIP: '10.96.200.10', clusterIPs: ['10.96.200.10'], ports: [{ name: 'http', protocol: 'TCP', appProtocol: 'http', port: 80, targetPort: upstreamPort }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'echo-bench', namespace: ns, labels: { 'kubernetes.io/service-name': 'echo' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true, serving: true, terminating: false } }],
      ports: [{ name: 'http', protocol: 'TCP', appProtocol: 'http', port: upstreamPort }],
    },
  ];
  const parentRefs = [{ group: '', kind: 'Service', name: 'echo', port: 80 }];
  const backendRefs = [{ name: 'echo', port: 80 }];
  for (let i = 0; i < n; i++) {
    objs.push({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute',
      metadata: { name: `r${i}`, namespace: ns, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60, Math.floor(i / 60))).toISOString() },
      spec: { parentRefs, rules: [{ matches: [{ path: { type: 'PathPrefix', value: `/r${i}` }, headers: [{ name: 'x-route', value: `r${i}` }] }], backendRefs }] },
    });
  }
  objs.push({
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute',
    metadata: { name: 'catch-all', namespace: ns, creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: {
      parentRefs,
      rules: [{
        matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs,
        ...(rewriteTo !== undefined ? { filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: `/echo/${rewriteTo}` } } }] } : {}),
      }],
    },
  });
  return objs;
}

export function writeScaleManifests(dir: string, n: number, upstreamPort: number, rewriteTo?: number): void {
  mkdirSync(dir, { recursive: true });
  // write then rename: a watcher sees the old file or the new one, never half of it
  const tmp = join(dir, '.routes.yaml.tmp');
  writeFileSync(tmp, scaleObjects(n, upstreamPort, rewriteTo).map((o) => JSON.stringify(o)).join('\n---\n') + '\n');
  renameSync(tmp, join(dir, 'routes.yaml'));
}
