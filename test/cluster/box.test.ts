// The cluster box's contract with its users (the journey tests built on it): the components are
// the real ones and behave as a cluster does: Gateway API CRDs install and validate with their
// own schemas and CEL rules, controllers turn Deployments into pods, ServiceAccount tokens are
// issued and reviewed with audiences, RBAC denies what a Role does not grant, and a span sent to
// Jaeger over OTLP/HTTP comes back from its query API.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { eventually, installGatewayApiCrds, readManifests, startBox, type Box, type BoxApi } from './box/index.ts';

type Obj = { metadata?: { name?: string; ownerReferences?: { kind: string; name: string }[]; annotations?: Record<string, string> }; [k: string]: unknown };
type List = { items: Obj[] };

let box: Box;
const ns = `box-${randomBytes(3).toString('hex')}`;

/** A test whose failure also tells the box to keep its component logs. */
function step(name: string, fn: () => Promise<void>, timeout = 90_000): void {
  it(name, { timeout }, async () => {
    try {
      await fn();
    } catch (err) {
      box?.noteFailure(name);
      throw err;
    }
  });
}

async function created(api: BoxApi, path: string, body: unknown): Promise<Obj> {
  const res = await api.post(path, body);
  assert.equal(res.status, 201, `POST ${path}: ${JSON.stringify(res.body)}`);
  return res.body as Obj;
}

describe('cluster box (real etcd, kube-apiserver, kube-controller-manager, Jaeger)', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    box = await startBox();
    await created(box.admin, '/api/v1/namespaces', { metadata: { name: ns } });
    await eventually(`default ServiceAccount in ${ns}`, async () => ((await box.admin.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200 ? true : undefined), 60_000);
  }, { timeout: 5 * 60_000 });

  after(async () => {
    await box?.stop();
  });

  step('the API server reports the built Kubernetes version', async () => {
    const res = await box.admin.get('/version');
    assert.equal(res.status, 200);
    assert.equal((res.body as { gitVersion: string }).gitVersion, box.components.versions.kubernetes);
  });

  step('the admin kubeconfig file works for @kubernetes/client-node (TLS verified against the box CA)', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(box.kubeconfigPath);
    assert.notEqual(kc.getCurrentCluster()?.skipTLSVerify, true);
    const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
    assert.ok(namespaces.items.some((n) => n.metadata?.name === ns), `namespace ${ns} listed`);
  });

  step('a client certificate from clientFor() authenticates as that user and groups (a kubelet identity)', async () => {
    const node = box.clientFor('system:node:box-node', ['system:nodes']);
    const res = await node.api.post('/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const user = (res.body as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
    assert.equal(user.username, 'system:node:box-node');
    assert.ok(user.groups.includes('system:nodes'), JSON.stringify(user.groups));
    // The Node authorizer applies: a node may read its own Node object (absent here: 404, not
    // 403) but not another node's, nor secrets cluster-wide.
    assert.equal((await node.api.get('/api/v1/nodes/box-node')).status, 404);
    assert.equal((await node.api.get('/api/v1/nodes/other-node')).status, 403);
    assert.equal((await node.api.get('/api/v1/secrets')).status, 403);
  });

  step('the Gateway API standard-channel CRDs install and become Established', async () => {
    const names = await installGatewayApiCrds(box.admin, box.components.crds.standard);
    for (const crd of ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'referencegrants', 'backendtlspolicies']) {
      assert.ok(names.includes(`${crd}.gateway.networking.k8s.io`), `${crd} missing from ${names.join(', ')}`);
    }
    const route = await box.admin.get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/httproutes.gateway.networking.k8s.io');
    assert.equal((route.body as Obj).metadata?.annotations?.['gateway.networking.k8s.io/bundle-version'], box.components.versions.gatewayApi);
    const list = await box.admin.get(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`);
    assert.equal(list.status, 200, 'the HTTPRoute API is served');
  });

  const route = (name: string, match: unknown, port = 8080): unknown => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 8080 }],
      rules: [{ matches: [match], backendRefs: [{ name: 'echo', port }] }],
    },
  });
  const invalidRoutes: { name: string; body: unknown; message: RegExp }[] = [
    { name: 'a relative PathPrefix (CEL rule)', body: route('relative', { path: { type: 'PathPrefix', value: 'api' } }), message: /value must be an absolute path and start with '\/'/ },
    { name: "a '//' in an Exact path (CEL rule)", body: route('double-slash', { path: { type: 'Exact', value: '/a//b' } }), message: /must not contain '\/\/'/ },
    { name: 'a backend port above 65535 (OpenAPI schema)', body: route('port', { path: { type: 'PathPrefix', value: '/' } }, 70_000), message: /backendRefs\[0\]\.port.*65535/ },
    { name: 'an unknown path match type (OpenAPI enum)', body: route('enum', { path: { type: 'Glob', value: '/x' } }), message: /Unsupported value: "Glob"/ },
  ];
  for (const c of invalidRoutes) {
    step(`an HTTPRoute with ${c.name} is rejected by the real CRD validation`, async () => {
      const res = await box.admin.post(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`, c.body);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      const status = res.body as { reason: string; message: string };
      assert.equal(status.reason, 'Invalid');
      assert.match(status.message, c.message);
    });
  }

  step('a valid HTTPRoute is accepted (the rejections above are specific)', async () => {
    const obj = await created(box.admin, `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`, route('valid', { path: { type: 'PathPrefix', value: '/api' } }));
    assert.equal(obj.metadata?.name, 'valid');
  });

  step("the release's ValidatingAdmissionPolicy refuses experimental CRDs over standard ones", async () => {
    const experimental = readManifests(box.components.crds.experimental).find((m) => m.metadata.name === 'httproutes.gateway.networking.k8s.io');
    assert.ok(experimental);
    // The policy is enforced once the API server's policy informer has it, so retry within a
    // bound; dry-run keeps a try that comes too early from replacing the standard CRD.
    const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${experimental.metadata.name}`;
    const refusal = await eventually('the safe-upgrades policy to refuse', async () => {
      const current = (await box.admin.get(path)).body as { metadata: { resourceVersion: string } };
      const res = await box.admin.request('PUT', `${path}?dryRun=All`, { ...experimental, metadata: { ...experimental.metadata, resourceVersion: current.metadata.resourceVersion } });
      return res.status === 422 ? (res.body as { message: string }).message : undefined;
    }, 30_000);
    assert.match(refusal, /Installing experimental CRDs on top of standard channel CRDs is prohibited/);
    const stored = await box.admin.get(path);
    assert.equal((stored.body as Obj).metadata?.annotations?.['gateway.networking.k8s.io/channel'], 'standard');
  });

  step('a Deployment becomes a ReplicaSet and a Pending, unscheduled Pod with a projected token volume', async () => {
    await created(box.admin, `/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'example.invalid/web:1' }] } },
      },
    });
    const rs = await eventually('a ReplicaSet owned by the Deployment', async () => {
      const list = (await box.admin.get(`/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3Dweb`)).body as List;
      return list.items.find((r) => r.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === 'web'));
    }, 60_000);
    type Pod = Obj & { spec: { nodeName?: string; volumes?: { name: string; projected?: { sources: { serviceAccountToken?: { path: string } }[] } }[] }; status: { phase: string } };
    const pod = await eventually('a Pod owned by the ReplicaSet', async () => {
      const list = (await box.admin.get(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`)).body as { items: Pod[] };
      return list.items.find((p) => p.metadata?.ownerReferences?.some((o) => o.kind === 'ReplicaSet' && o.name === rs.metadata?.name));
    }, 60_000);
    assert.equal(pod.status.phase, 'Pending');
    assert.equal(pod.spec.nodeName, undefined, 'no scheduler or kubelet in the box yet');
    // The ServiceAccount admission plugin adds the projected token the kubelet will later request.
    const tokenVolume = pod.spec.volumes?.find((v) => v.projected?.sources.some((s) => s.serviceAccountToken?.path === 'token'));
    assert.ok(tokenVolume, `no projected ServiceAccount token volume in ${JSON.stringify(pod.spec.volumes)}`);
  });

  const requestToken = async (sa: string, audiences?: string[]): Promise<string> => {
    const res = await box.admin.post(`/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { ...(audiences ? { audiences } : {}), expirationSeconds: 600 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as { status: { token: string } }).status.token;
  };
  type Review = { status: { authenticated?: boolean; user?: { username: string }; audiences?: string[]; error?: string } };
  const review = async (token: string, audiences: string[]): Promise<Review['status']> => {
    const res = await box.admin.post('/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as Review).status;
  };

  step('TokenRequest issues a token that TokenReview authenticates for its audience only', async () => {
    await created(box.admin, `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'reader' } });
    const token = await requestToken('reader', ['meshlet-box-test']);
    const ok = await review(token, ['meshlet-box-test']);
    assert.equal(ok.authenticated, true, JSON.stringify(ok));
    assert.equal(ok.user?.username, `system:serviceaccount:${ns}:reader`);
    assert.deepEqual(ok.audiences, ['meshlet-box-test']);
    const otherAudience = await review(token, ['someone-else']);
    assert.notEqual(otherAudience.authenticated, true, 'a token is not valid for an audience it was not issued for');
    const forged = await review(`${token.slice(0, -4)}AAAA`, ['meshlet-box-test']);
    assert.notEqual(forged.authenticated, true, 'a token with a broken signature is refused');
  });

  step("an RBAC-limited ServiceAccount gets what its Role grants and is forbidden the rest", async () => {
    await created(box.admin, `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      metadata: { name: 'pod-reader' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
    });
    await created(box.admin, `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      metadata: { name: 'reader-reads-pods' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    });
    const reader = box.admin.withToken(await requestToken('reader'));
    // RBAC's authorizer cache follows the binding within moments: wait for the grant, bounded.
    await eventually('the RoleBinding to take effect', async () => ((await reader.get(`/api/v1/namespaces/${ns}/pods`)).status === 200 ? true : undefined), 30_000);
    const denied: [string, string][] = [
      ['secrets in its namespace', `/api/v1/namespaces/${ns}/secrets`],
      ['pods in another namespace', '/api/v1/namespaces/default/pods'],
      ['HTTPRoutes in its namespace', `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`],
    ];
    for (const [what, path] of denied) {
      const res = await reader.get(path);
      assert.equal(res.status, 403, `${what}: ${JSON.stringify(res.body)}`);
      assert.match((res.body as { message: string }).message, new RegExp(`system:serviceaccount:${ns}:reader`));
    }
    const write = await reader.request('DELETE', `/api/v1/namespaces/${ns}/pods/anything`);
    assert.equal(write.status, 403, 'the Role grants no delete');
  });

  step('kube-apiserver restarts on the same data: objects and issued tokens survive', async () => {
    const reader = box.admin.withToken(await requestToken('reader'));
    const before = box.processes.get('kube-apiserver')?.pid;
    await box.restart('kube-apiserver');
    assert.notEqual(box.processes.get('kube-apiserver')?.pid, before, 'a new process serves');
    const route = await box.admin.get(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes/valid`);
    assert.equal(route.status, 200, 'the HTTPRoute stored before the restart is served');
    assert.equal((await reader.get(`/api/v1/namespaces/${ns}/pods`)).status, 200, 'a token issued before the restart still authenticates');
    assert.equal((await reader.get(`/api/v1/namespaces/${ns}/secrets`)).status, 403, 'and RBAC still applies');
  });

  step('a span sent to Jaeger over OTLP/HTTP JSON comes back from the query API', async () => {
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const res = await fetch(`${box.jaeger.otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'box-test' } }] },
          scopeSpans: [{ scope: { name: 'box.test' }, spans: [{ traceId, spanId, name: 'GET /hello', kind: 2, startTimeUnixNano: String(nowNs), endTimeUnixNano: String(nowNs + 5_000_000n), attributes: [{ key: 'http.response.status_code', value: { intValue: '200' } }] }] }],
        }],
      }),
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(res.status, 200, await res.text());
    type Trace = { traceID: string; spans: { spanID: string; operationName: string; processID: string }[]; processes: Record<string, { serviceName: string }> };
    const trace = await eventually(`trace ${traceId} in Jaeger`, async () => {
      const q = await fetch(`${box.jaeger.queryUrl}/api/traces/${traceId}`, { signal: AbortSignal.timeout(5000) });
      if (q.status !== 200) return undefined;
      return ((await q.json()) as { data: Trace[] }).data[0];
    }, 30_000);
    assert.equal(trace.traceID, traceId);
    assert.equal(trace.spans.length, 1);
    const span = trace.spans[0]!;
    assert.equal(span.spanID, spanId);
    assert.equal(span.operationName, 'GET /hello');
    assert.equal(trace.processes[span.processID]?.serviceName, 'box-test');
  });
});
