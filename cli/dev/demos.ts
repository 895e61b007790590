// The requests `meshlet dev` suggests, as data: each is printed as a curl command with what
// its answer demonstrates, and the same data drives the test that runs every one of them, so a
// printed command cannot drift from what the mesh does.
import type { KubeObject } from '../../controller/translate/snapshot.ts';

export interface DevPorts {
  /** Client sidecar (namespace default) outbound port on 127.0.0.1. */
  client: number;
  /** Ingress ports as bound for the Gateways' 80 and 443. */
  http: number;
  https: number;
}

export interface DemoRequest {
  scheme: 'http' | 'https';
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Host header (and TLS server name for https). */
  host: string;
  path: string;
  headers?: Record<string, string>;
}

export type DemoExpectation =
  | { kind: 'pod'; status: number; podPrefix: string }
  | { kind: 'redirect'; status: number; location: string }
  | { kind: 'status'; status: number }
  | { kind: 'request-header'; name: string; value: string }
  | { kind: 'response-header'; name: string; value: string }
  /** `count` requests; how many each pod prefix must get (exact: weighted round robin). */
  | { kind: 'split'; count: number; pods: Record<string, number> };

export interface Demo {
  title: string;
  /** Objects (kind/ns/name) the demo needs: it is shown only when they are in the directory. */
  needs: string[];
  request: DemoRequest;
  expect: DemoExpectation;
  /** What the answer shows, in a sentence. */
  shows: string;
}

export function demos(p: DevPorts): Demo[] {
  const mesh = (host: string, path = '/', headers?: Record<string, string>): DemoRequest => ({ scheme: 'http', port: p.client, host, path, headers });
  return [
    {
      title: 'GAMMA route on a Service (examples/03)',
      needs: ['HTTPRoute/default/reviews'],
      request: mesh('reviews.default:9080'),
      expect: { kind: 'pod', status: 200, podPrefix: 'reviews-v1-' },
      shows: 'Service reviews selects v1, v2 and v3 pods, but its route sends every call to a reviews-v1 pod ("pod" in the JSON).',
    },
    {
      title: 'mutual TLS between sidecars: the app learns who called (examples/03)',
      needs: ['HTTPRoute/default/reviews'],
      request: mesh('reviews.default:9080', '/headers'),
      expect: { kind: 'request-header', name: 'X-Forwarded-Client-Cert', value: 'By=spiffe://cluster.local/ns/default/sa/reviews-v1;URI=spiffe://cluster.local/ns/default/sa/dev-client' },
      shows: 'the hop between the client sidecar and reviews-v1\'s sidecar was mTLS: the app sees both SPIFFE IDs in X-Forwarded-Client-Cert (set by its sidecar, never by the caller).',
    },
    {
      title: 'weighted canary split 80/20 (examples/05)',
      needs: ['HTTPRoute/default/checkout'],
      request: mesh('checkout.default:8080', '/cart'),
      expect: { kind: 'split', count: 20, pods: { 'checkout-v1-': 16, 'checkout-v2-': 4 } },
      shows: '16 answers from checkout-v1 and 4 from checkout-v2: exact 80/20 shares, even on one keep-alive connection.',
    },
    {
      title: 'header match (examples/05)',
      needs: ['HTTPRoute/default/checkout'],
      request: mesh('checkout.default:8080', '/cart', { 'x-canary': 'always' }),
      expect: { kind: 'pod', status: 200, podPrefix: 'checkout-v2-' },
      shows: 'the rule matching `x-canary: always` outranks the split: always checkout-v2.',
    },
    {
      title: 'response header set by the route (examples/05)',
      needs: ['HTTPRoute/default/checkout'],
      request: mesh('checkout.default:8080', '/cart'),
      expect: { kind: 'response-header', name: 'x-served-by-route', value: 'checkout' },
      shows: 'a ResponseHeaderModifier adds `x-served-by-route: checkout` to the answer.',
    },
    {
      title: 'redirect with a prefix rewrite (examples/05)',
      needs: ['HTTPRoute/default/checkout'],
      request: mesh('checkout.default:8080', '/old/cart?id=7'),
      expect: { kind: 'redirect', status: 302, location: 'http://checkout.default:8080/new/cart?id=7' },
      shows: 'the sidecar answers 302 itself, /old replaced by /new, query kept.',
    },
    {
      title: 'request header added at the ingress (examples/02)',
      needs: ['HTTPRoute/default/http'],
      request: { scheme: 'http', port: p.http, host: 'httpbin.example.com', path: '/headers' },
      expect: { kind: 'request-header', name: 'My-Added-Header', value: 'added-value' },
      shows: 'the backend saw `My-Added-Header: added-value`, added by the route\'s RequestHeaderModifier.',
    },
    {
      title: 'AuthorizationPolicy: httpbin admits only the ingress (examples/06)',
      needs: ['HTTPRoute/default/http', 'AuthorizationPolicy/default/httpbin-ingress-only'],
      request: mesh('httpbin.default:8000', '/headers'),
      expect: { kind: 'status', status: 403 },
      shows: 'the client sidecar\'s identity (sa/dev-client) is not allowed by the policy: httpbin\'s sidecar answers 403 with x-meshlet-denied-reason, while the same path through the ingress (above) is served.',
    },
    {
      title: 'no rule matches (examples/02)',
      needs: ['HTTPRoute/default/http'],
      request: { scheme: 'http', port: p.http, host: 'httpbin.example.com', path: '/status/200' },
      expect: { kind: 'status', status: 404 },
      shows: 'only /get and /headers are routed on that host: anything else is 404.',
    },
    {
      title: 'HTTPS with a certificate from another namespace (examples/01)',
      needs: ['HTTPRoute/cluster2/docserver'],
      request: { scheme: 'https', port: p.https, host: 'api.anyflow.net', path: '/anything' },
      expect: { kind: 'pod', status: 200, podPrefix: 'docserver-' },
      shows: 'TLS terminated with istio-system/default-tls (allowed by its ReferenceGrant), then proxied to docserver in cluster2.',
    },
    {
      title: 'redirect on the HTTPS listener (examples/01)',
      needs: ['HTTPRoute/cluster2/docserver'],
      request: { scheme: 'https', port: p.https, host: 'api.anyflow.net', path: '/' },
      expect: { kind: 'redirect', status: 302, location: 'https://api.anyflow.net/__apispec/' },
      shows: 'the exact path / is redirected to /__apispec/.',
    },
    {
      title: 'HTTP to HTTPS (examples/01)',
      needs: ['HTTPRoute/cluster2/docserver-https-redirect'],
      request: { scheme: 'http', port: p.http, host: 'api.anyflow.net', path: '/anything' },
      expect: { kind: 'redirect', status: 301, location: 'https://api.anyflow.net/anything' },
      shows: 'the route on the HTTP listener sends clients to https (port 443, so no port in Location).',
    },
    {
      title: 'the Istio kiali scenario in Gateway API (examples/04)',
      needs: ['HTTPRoute/istio-system/kiali'],
      request: { scheme: 'https', port: p.https, host: 'kiali.hskimdemo.test.com', path: '/kiali/' },
      expect: { kind: 'pod', status: 200, podPrefix: 'kiali-' },
      shows: 'HTTPS terminated for kiali.hskimdemo.test.com and routed to Service kiali:20001.',
    },
  ];
}

export function applicableDemos(all: Demo[], objects: KubeObject[]): Demo[] {
  const have = new Set(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`));
  return all.filter((d) => d.needs.every((n) => have.has(n)));
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The curl command a user types for a demo. */
export function curlFor(d: Demo): string {
  const r = d.request;
  const head = d.expect.kind === 'redirect' || d.expect.kind === 'status' || d.expect.kind === 'response-header' ? '-si' : '-s';
  const headers = Object.entries(r.headers ?? {}).map(([k, v]) => `-H ${shellQuote(`${k}: ${v}`)} `).join('');
  let cmd: string;
  if (r.scheme === 'https') {
    const host = r.host.replace(/:\d+$/, '');
    cmd = `curl ${head}k --resolve ${host}:${r.port}:127.0.0.1 ${headers}${shellQuote(`https://${host}:${r.port}${r.path}`)}`;
  } else {
    cmd = `curl ${head} -H ${shellQuote(`Host: ${r.host}`)} ${headers}${shellQuote(`http://127.0.0.1:${r.port}${r.path}`)}`;
  }
  if (d.expect.kind === 'split') {
    return `for i in $(seq ${d.expect.count}); do ${cmd} | grep -o '"pod":"[^"]*"'; done | sort | uniq -c`;
  }
  if (d.expect.kind === 'response-header' || d.expect.kind === 'redirect' || d.expect.kind === 'status') return `${cmd} | head -n 5`;
  return cmd;
}
