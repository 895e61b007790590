// The journey's workloads, after examples/03-gamma-reviews.yaml but as a user deploys them:
// Deployments of the echo image (the conformance echo server: it answers with the request it
// saw, its pod and namespace), Services selecting them, a client Deployment to send requests
// from, and the GAMMA HTTPRoute. Objects are plain JSON for the API.
import { ECHO_IMAGE, TOOLBOX_IMAGE } from '../kubelet/index.ts';

export const ECHO_PORT = 8080;

export function serviceAccount(ns: string, name: string): unknown {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } };
}

/** A Deployment of the echo image with a readiness probe, under its own ServiceAccount. */
export function echoDeployment(ns: string, name: string, labels: Record<string, string>, opts: { replicas?: number; serviceAccount?: string; annotations?: Record<string, string> } = {}): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
        spec: {
          ...(opts.serviceAccount ? { serviceAccountName: opts.serviceAccount } : {}),
          terminationGracePeriodSeconds: 10,
          containers: [{
            name: 'echo',
            image: ECHO_IMAGE,
            ports: [{ name: 'http', containerPort: ECHO_PORT }],
            env: [
              { name: 'PORT', value: String(ECHO_PORT) },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            ],
            readinessProbe: { httpGet: { path: '/ready', port: ECHO_PORT }, periodSeconds: 1 },
          }],
        },
      },
    },
  };
}

/** A client that only waits: requests are sent from it with `exec` (what `kubectl exec` gives). */
export function clientDeployment(ns: string, name: string, serviceAccount?: string): unknown {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          ...(serviceAccount ? { serviceAccountName: serviceAccount } : {}),
          terminationGracePeriodSeconds: 2,
          containers: [{ name: 'client', image: TOOLBOX_IMAGE, command: ['sleep', '3600'] }],
        },
      },
    },
  };
}

/**
 * An app that calls another service, as bookinfo's productpage calls reviews: every request is
 * answered with what `target` answered (status and body), the trace context headers passed on
 * (apps must propagate them for a trace to span more than one hop). /ready answers itself.
 */
export function forwarderDeployment(ns: string, name: string, target: string, serviceAccount: string): unknown {
  const labels = { app: name };
  const script = `
const http = require('node:http');
const pass = ['traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled'];
http.createServer(async (req, res) => {
  if (req.url === '/ready') return res.end('ok');
  try {
    const headers = Object.fromEntries(pass.filter((h) => req.headers[h]).map((h) => [h, req.headers[h]]));
    const r = await fetch(${JSON.stringify(target)}, { headers, signal: AbortSignal.timeout(5000) });
    console.log(req.method, req.url, JSON.stringify(headers), '->', r.status);
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain' });
    res.end(await r.text());
  } catch (err) {
    console.log(req.method, req.url, '->', String(err.cause ?? err));
    res.writeHead(502);
    res.end(String(err.cause ?? err));
  }
}).listen(${ECHO_PORT}, '0.0.0.0');
process.once('SIGTERM', () => process.exit(0));`;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: serviceAccount,
          terminationGracePeriodSeconds: 2,
          containers: [{
            name: 'app',
            image: TOOLBOX_IMAGE,
            command: [process.execPath, '-e', script],
            ports: [{ name: 'http', containerPort: ECHO_PORT }],
            readinessProbe: { httpGet: { path: '/ready', port: ECHO_PORT }, periodSeconds: 1 },
          }],
        },
      },
    },
  };
}

export function service(ns: string, name: string, selector: Record<string, string>, port: number): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { selector, ports: [{ name: 'http', port, targetPort: ECHO_PORT, protocol: 'TCP', appProtocol: 'http' }] },
  };
}

/** GAMMA: callers of Service `parent` are sent to Service `backend` only. */
export function meshRoute(ns: string, name: string, parent: string, backend: string, port: number): unknown {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: ns },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: parent, port }],
      rules: [{ backendRefs: [{ name: backend, port }] }],
    },
  };
}

/** meshlet's AuthorizationPolicy: only these ServiceAccounts (namespace/name) may call Service target. */
export function allowServiceAccounts(ns: string, name: string, target: string, callers: [string, string][]): unknown {
  return {
    apiVersion: 'policy.meshlet.dev/v1alpha1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: ns },
    spec: {
      targetRefs: [{ group: '', kind: 'Service', name: target }],
      action: 'ALLOW',
      rules: [{ sources: callers.map(([namespace, sa]) => ({ type: 'ServiceAccount', serviceAccount: { namespace, name: sa } })) }],
    },
  };
}

const collections: Record<string, (ns: string) => string> = {
  ServiceAccount: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`,
  Service: (ns) => `/api/v1/namespaces/${ns}/services`,
  Deployment: (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`,
  HTTPRoute: (ns) => `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`,
  AuthorizationPolicy: (ns) => `/apis/policy.meshlet.dev/v1alpha1/namespaces/${ns}/authorizationpolicies`,
};

/** The collection path an object is created in. */
export function collectionOf(obj: unknown): string {
  const o = obj as { kind: string; metadata: { namespace: string } };
  const path = collections[o.kind];
  if (!path) throw new Error(`no collection known for kind ${o.kind}`);
  return path(o.metadata.namespace);
}
