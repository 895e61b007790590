// The journey's north-south part, after examples/01-gateway-https-docserver.yaml: a Gateway of
// meshlet's class with an HTTP listener and an HTTPS listener whose certificate Secret lives in
// another namespace (allowed by a ReferenceGrant), a third listener whose Secret no grant covers,
// and an HTTPRoute from both good listeners to a meshed Service. Requests are sent from the node
// to the address the box's load balancer gave the chart's ingress Service, as a user outside
// the cluster would send them, TLS verified against the test's own CA with the listener's SNI.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createCa, issueServingCert, type KeyPairPem } from '../box/index.ts';

export const SHOP_HOST = 'shop.journey.test';
/** A hostname whose listener's certificate is in a Secret no ReferenceGrant covers. */
export const UNGRANTED_HOST = 'other.journey.test';

export interface EdgeSetup {
  ca: KeyPairPem;
  objects: { path: string; body: unknown }[];
}

function tlsSecret(ns: string, name: string, pair: KeyPairPem): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(pair.cert).toString('base64'), 'tls.key': Buffer.from(pair.key).toString('base64') },
  };
}

/**
 * Everything a user applies to expose Service backend:port of namespace `ns` through Gateway
 * `gateway` (in ns too), certificates in namespace `certs`; in creation order.
 */
export function edgeSetup(ns: string, certs: string, gateway: string, backend: string, port: number): EdgeSetup {
  const ca = createCa('meshlet-journey-test-ca');
  const gw = 'gateway.networking.k8s.io';
  const objects = [
    { path: '/api/v1/namespaces', body: { metadata: { name: certs } } },
    { path: `/api/v1/namespaces/${certs}/secrets`, body: tlsSecret(certs, 'shop-tls', issueServingCert(ca, [SHOP_HOST])) },
    { path: `/api/v1/namespaces/${certs}/secrets`, body: tlsSecret(certs, 'other-tls', issueServingCert(ca, [UNGRANTED_HOST])) },
    {
      path: `/apis/${gw}/v1/namespaces/${certs}/referencegrants`,
      body: {
        apiVersion: `${gw}/v1`,
        kind: 'ReferenceGrant',
        metadata: { name: 'gateways-read-shop-tls', namespace: certs },
        spec: { from: [{ group: gw, kind: 'Gateway', namespace: ns }], to: [{ group: '', kind: 'Secret', name: 'shop-tls' }] },
      },
    },
    {
      path: `/apis/${gw}/v1/namespaces/${ns}/gateways`,
      body: {
        apiVersion: `${gw}/v1`,
        kind: 'Gateway',
        metadata: { name: gateway, namespace: ns },
        spec: {
          gatewayClassName: 'meshlet',
          listeners: [
            { name: 'http', hostname: SHOP_HOST, port: 80, protocol: 'HTTP' },
            { name: 'https', hostname: SHOP_HOST, port: 443, protocol: 'HTTPS', tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'shop-tls', namespace: certs }] } },
            { name: 'https-ungranted', hostname: UNGRANTED_HOST, port: 443, protocol: 'HTTPS', tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'other-tls', namespace: certs }] } },
          ],
        },
      },
    },
    {
      path: `/apis/${gw}/v1/namespaces/${ns}/httproutes`,
      body: {
        apiVersion: `${gw}/v1`,
        kind: 'HTTPRoute',
        metadata: { name: gateway, namespace: ns },
        spec: {
          parentRefs: [{ name: gateway, sectionName: 'http' }, { name: gateway, sectionName: 'https' }],
          hostnames: [SHOP_HOST],
          rules: [{ backendRefs: [{ name: backend, port }] }],
        },
      },
    },
  ];
  return { ca, objects };
}

export interface EdgeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  error?: string;
}

export interface EdgeRequest {
  address: string;
  port: number;
  host: string;
  path?: string;
  headers?: Record<string, string>;
  /** HTTPS: the CA to verify the listener's certificate with (the SNI is `host`). */
  ca?: string;
  timeoutMs?: number;
}

/** One GET from the node to the load balancer's address; a failure is an answer with status 0. */
export function edgeGet(r: EdgeRequest): Promise<EdgeResponse> {
  const headers = { host: r.host, ...r.headers };
  const common = { host: r.address, port: r.port, path: r.path ?? '/', headers, agent: false, timeout: r.timeoutMs ?? 5000 };
  return new Promise((resolve) => {
    const done = (res: EdgeResponse): void => resolve(res);
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => done({ status: 0, headers: {}, body: '', error: String(err) }));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    };
    const req = r.ca !== undefined
      ? httpsRequest({ ...common, ca: r.ca, servername: r.host }, onResponse)
      : httpRequest(common, onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${r.timeoutMs ?? 5000} ms`)));
    req.on('error', (err) => done({ status: 0, headers: {}, body: '', error: String(err) }));
    req.end();
  });
}
