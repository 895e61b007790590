// `meshlet check` against the fake kube-apiserver: a cluster before install (pre-install
// passes, post-install fails with hints), after a working install, and with the failures a
// user meets (no Gateway API, an empty caBundle, a CA about to expire, a namespace without
// the root bundle).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PassThrough } from 'node:stream';
import { CA_SECRET, ROOT_CA_CONFIGMAP } from '../../api/identity.ts';
import { metric } from '../../common/prometheus.ts';
import { generateRoot } from '../../controller/identity/root.ts';
import { startFakeApiServer, type FakeApiServer, type FakeObject } from '../../test/support/fake-apiserver/index.ts';
import { main } from '../main.ts';
import { KubeClient, loadKubeConfig } from '../../controller/provider/kubernetes/index.ts';
import { clockSkewCheck } from './clock-skew.ts';
import { versionAtLeast } from './index.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const root = generateRoot({ now: new Date(), trustDomain: 'cluster.local' });
let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'meshlet-check-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

const accepted = (generation: number, status = 'True', reason = 'Accepted') => [{ type: 'Accepted', status, reason, message: status === 'True' ? '' : 'backend Service shop/nope not found', observedGeneration: generation }];
const propagated = (upToDate: number, total: number, generation = 1) => ({ type: 'meshlet.dev/Propagated', status: upToDate >= total ? 'True' : 'False', reason: upToDate >= total ? 'Propagated' : 'Propagating', message: `${upToDate}/${total} proxies at generation 4`, observedGeneration: generation });

function installed(opts: { caBundle?: string; readyReplicas?: number; ca?: typeof root; renewTime?: string; classStatus?: string; routeStatus?: string; upToDate?: number; webhookName?: string } = {}): FakeObject[] {
  const ca = opts.ca ?? root;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'meshlet-system' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'meshlet-controller', namespace: 'meshlet-system' }, spec: { replicas: 2 }, status: { readyReplicas: opts.readyReplicas ?? 2 } },
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: opts.webhookName ?? 'meshlet-injector' }, webhooks: [{ name: 'sidecar-injector.meshlet.dev', clientConfig: { caBundle: opts.caBundle ?? b64(ca.caPem) } }] },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: CA_SECRET.name, namespace: 'meshlet-system' }, data: { [CA_SECRET.caKey]: b64(ca.caPem), [CA_SECRET.certKey]: b64(ca.certPem), [CA_SECRET.keyKey]: b64(ca.keyPem) } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'meshlet.dev/inject': 'enabled' } } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIGMAP.name, namespace: 'shop' }, data: { [ROOT_CA_CONFIGMAP.key]: ca.caPem } },
    { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'meshlet-controller', namespace: 'meshlet-system' }, spec: { holderIdentity: 'meshlet-controller-a', leaseDurationSeconds: 15, renewTime: opts.renewTime ?? new Date().toISOString() } },
    ...['a', 'b'].map((x) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `meshlet-controller-${x}`, namespace: 'meshlet-system', labels: { 'app.kubernetes.io/component': 'controller' } }, status: { phase: 'Running' } })),
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'meshlet' }, spec: { controllerName: 'meshlet.dev/gateway-controller' }, status: { conditions: accepted(1, opts.classStatus ?? 'True') } },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'other' }, spec: { controllerName: 'example.com/other' }, status: { conditions: accepted(1, 'False', 'Unsupported') } },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'cart', namespace: 'shop' }, spec: {}, status: { parents: [{ controllerName: 'meshlet.dev/mesh-controller', parentRef: { name: 'cart' }, conditions: [...accepted(1, opts.routeStatus ?? 'True', opts.routeStatus === 'False' ? 'BackendNotFound' : 'Accepted'), propagated(opts.upToDate ?? 2, 2)] }] } },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'elsewhere', namespace: 'shop' }, spec: {}, status: { parents: [{ controllerName: 'example.com/other', parentRef: { name: 'x' }, conditions: accepted(1, 'False') }] } },
    ...['web-1', 'web-2'].map((name) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'shop' }, spec: { initContainers: [{ name: 'meshlet-proxy' }], containers: [{ name: 'app' }] }, status: { phase: 'Running' } })),
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-3', namespace: 'shop' }, spec: { initContainers: [{ name: 'meshlet-proxy' }], containers: [{ name: 'app' }] }, status: { phase: 'Pending' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain', namespace: 'shop' }, spec: { containers: [{ name: 'app' }] }, status: { phase: 'Running' } },
  ];
}

/** The webhook, as the API server would apply it: a proxy sidecar in the shop namespace. */
function injectPods(o: FakeObject): FakeObject {
  const spec = o.spec as { initContainers?: { name: string }[] };
  return o.kind === 'Pod' && o.metadata.namespace === 'shop' ? { ...o, spec: { ...spec, initContainers: [...(spec.initContainers ?? []), { name: 'meshlet-proxy' }] } } : o;
}

/** Each controller replica's /metrics: 3 agents on -a, 4 on -b; each shop proxy's /ready. */
function metrics(ns: string, pod: string, port: number, path: string): { status: number; body: string } {
  if (ns === 'shop' && port === 15020 && path === '/ready') return { status: 200, body: JSON.stringify({ ready: true, version: `v-${pod}` }) };
  // web-1 holds a mesh certificate (an hour left); web-2 runs without mesh certificates (no gauge).
  if (ns === 'shop' && port === 15020 && path === '/metrics') return { status: 200, body: pod === 'web-1' ? metric('meshlet_workload_certificate_expiry_seconds', 'gauge', 'as the agent renders it', 3600) : '' };
  if (ns !== 'meshlet-system' || port !== 15020 || path !== '/metrics') return { status: 404, body: '' };
  const agents = { 'meshlet-controller-a': 3, 'meshlet-controller-b': 4 }[pod];
  return agents === undefined ? { status: 404, body: '' } : { status: 200, body: `# TYPE meshlet_publisher_agents gauge\nmeshlet_publisher_agents ${agents}\nmeshlet_publisher_agents_total_x 9\n` };
}

async function check(api: FakeApiServer, ...args: string[]): Promise<{ code: number; out: string }> {
  const kubeconfig = join(dir, `kubeconfig-${api.port}`);
  await api.writeKubeconfig(kubeconfig);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => { out += c.toString(); });
  stderr.on('data', (c: Buffer) => { out += c.toString(); });
  const code = await main(['check', '--kubeconfig', kubeconfig, ...args], { stdout, stderr, stopSignal: new Promise(() => {}) });
  return { code, out };
}

async function withApi<T>(opts: Parameters<typeof startFakeApiServer>[0], fn: (api: FakeApiServer) => Promise<T>): Promise<T> {
  const api = await startFakeApiServer(opts);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

test('versions compare numerically; suffixes are ignored and garbage never passes', () => {
  const cases: [string, string, boolean][] = [
    ['v1.6.3', 'v1.1.0', true], ['v1.1.0', 'v1.1.0', true], ['v1.0.0', 'v1.1.0', false],
    ['1.29', '1.29', true], ['1.28', '1.29', false], ['1.30', '1.29', true], ['1.100', '1.29', true],
    ['v1.5.0-rc.1', 'v1.1.0', true], ['main', 'v1.1.0', false],
  ];
  for (const [v, min, want] of cases) assert.equal(versionAtLeast(v, min), want, `${v} >= ${min}`);
});

test('--pre on a cluster with the Gateway API: every line ✔, exit 0', async () => {
  await withApi({}, async (api) => {
    const { code, out } = await check(api, '--pre');
    assert.equal(code, 0, out);
    assert.match(out, /✔ Kubernetes API: .* answers \(v1\.34/);
    assert.match(out, /✔ Kubernetes version: v1\.34.* native sidecar/);
    assert.match(out, /✔ Gateway API CRDs: installed, bundle v1\.6\.0/);
    assert.match(out, /✔ permission to install: may create every kind the chart installs \(12\)/);
    assert.doesNotMatch(out, /✖/);
  });
});

test('--pre without the Gateway API: ✖ with the install command, exit 1', async () => {
  await withApi({ gatewayApi: false }, async (api) => {
    const { code, out } = await check(api, '--pre');
    assert.equal(code, 1);
    assert.match(out, /✖ Gateway API CRDs: missing: gatewayclasses, gateways, httproutes, grpcroutes, referencegrants\n {4}hint: kubectl apply --server-side -f .*standard-install\.yaml/);
  });
});

test('an old Gateway API bundle fails', async () => {
  await withApi({ gatewayApi: { bundleVersion: 'v1.0.0' } }, async (api) => {
    const { code, out } = await check(api, '--pre');
    assert.equal(code, 1);
    assert.match(out, /✖ Gateway API CRDs: bundle v1\.0\.0 is older than v1\.1\.0/);
  });
});

test('a working install: every check ✔', async () => {
  await withApi({ objects: installed(), podProxy: metrics, admit: injectPods }, async (api) => {
    const { code, out } = await check(api);
    assert.equal(code, 0, out);
    assert.match(out, /✔ controller Deployment: 2\/2 replicas ready/);
    assert.match(out, /✔ controller leader: meshlet-controller-a holds the Lease/);
    assert.match(out, /✔ injection webhook caBundle: filled/);
    assert.match(out, /✔ mesh CA: valid, \d+ days left/);
    assert.match(out, /✔ meshlet-root-ca in injected namespaces: present in 1 namespace/);
    assert.match(out, /✔ injection webhook reachable: a dry-run Pod in shop was injected/);
    assert.equal(api.store.list('/pods', (o) => o.metadata.name === 'meshlet-check-probe').length, 0, 'the dry run stored nothing');
    assert.match(out, /✔ agents connected: 7 agent\(s\) across 2 controller replica\(s\)/);
    assert.match(out, /✔ injected proxies ready: 2 proxy\(ies\) ready, 2 table version\(s\) in force, 1 with a valid certificate/);
    assert.match(out, /✔ GatewayClass accepted: meshlet accepted/);
    assert.match(out, /✔ routes Accepted: 1 route\(s\) Accepted/);
    assert.match(out, /✔ clock skew: (within a second of|1 s (ahead of|behind)) the API server/);
    assert.match(out, /✔ routes propagated to proxies: every connected proxy runs the latest version of 1 route parent\(s\)/);
    assert.match(out, /all 16 checks passed/);
  });
});

test('before install, the post-install checks fail with what to do', async () => {
  await withApi({}, async (api) => {
    const { code, out } = await check(api);
    assert.equal(code, 1);
    assert.match(out, /✖ controller Deployment: no Deployment meshlet-system\/meshlet-controller\n {4}hint: helm install/);
    assert.match(out, /✖ injection webhook caBundle: no MutatingWebhookConfiguration/);
    assert.match(out, /✖ mesh CA: no Secret meshlet-system\/meshlet-ca/);
    assert.match(out, /✖ agents connected: no running controller pod/);
    assert.match(out, /✖ controller leader: no Lease meshlet-system\/meshlet-controller/);
    assert.match(out, /✖ GatewayClass accepted: no GatewayClass with controllerName meshlet\.dev\/gateway-controller/);
    assert.match(out, /✔ routes Accepted: no route attached to meshlet yet/);
    assert.match(out, /✔ routes propagated to proxies: no route counted by the controller yet/);
    assert.match(out, /6 of 16 checks failed/);
  });
});

test('a half-ready controller, an empty caBundle and a namespace without the root bundle each fail', async () => {
  const objects = installed({ readyReplicas: 1, caBundle: '' });
  objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'new-team', labels: { 'meshlet.dev/inject': 'enabled' } } });
  await withApi({ objects }, async (api) => {
    const { code, out } = await check(api);
    assert.equal(code, 1);
    assert.match(out, /✖ controller Deployment: 1\/2 replicas ready/);
    assert.match(out, /✖ injection webhook caBundle: caBundle of sidecar-injector\.meshlet\.dev is empty/);
    assert.match(out, /✖ meshlet-root-ca in injected namespaces: missing or unreadable in new-team/);
  });
});

test('a CA within 30 days of its end fails and says to rotate it', async () => {
  const old = generateRoot({ now: new Date(Date.now() - 86_400_000), lifetimeMs: 11 * 86_400_000, trustDomain: 'cluster.local' });
  await withApi({ objects: installed({ ca: old }) }, async (api) => {
    const { out } = await check(api);
    assert.match(out, /✖ mesh CA: expires in (9|10) days/);
    assert.match(out, /hint: rotate the CA/);
  });
});

test('a clock minutes off the API server fails; a second off passes', async () => {
  await withApi({}, async (api) => {
    const kubeconfig = join(dir, 'kubeconfig-skew');
    await api.writeKubeconfig(kubeconfig);
    const client = new KubeClient(loadKubeConfig({ kubeconfig }).config);
    const ahead = await clockSkewCheck.run({ client, namespace: 'meshlet-system', webhookName: 'meshlet-injector', now: new Date(Date.now() + 300_000) });
    assert.equal(ahead.ok, false);
    assert.match(ahead.detail, /^(299|300|301) s ahead of the API server$/);
    const behind = await clockSkewCheck.run({ client, namespace: 'meshlet-system', webhookName: 'meshlet-injector', now: new Date(Date.now() - 120_000) });
    assert.match(behind.detail, /behind/);
    assert.equal(behind.ok, false);
    assert.equal((await clockSkewCheck.run({ client, namespace: 'meshlet-system', webhookName: 'meshlet-injector', now: new Date() })).ok, true);
  });
});

test('--pre names the kinds a user may not create', async () => {
  const asked: Record<string, string | undefined>[] = [];
  const accessReview = (a: Record<string, string | undefined>) => {
    asked.push(a);
    return !(a.resource === 'clusterroles' || (a.resource === 'deployments' && a.namespace === 'mesh'));
  };
  await withApi({ accessReview }, async (api) => {
    const { code, out } = await check(api, '--pre', '--namespace', 'mesh');
    assert.equal(code, 1);
    assert.match(out, /✖ permission to install: may not create clusterroles\.rbac\.authorization\.k8s\.io, deployments\.apps\n {4}hint: install as a cluster admin/);
    assert.ok(asked.every((a) => a.verb === 'create'));
  });
});

test('a replica whose metrics cannot be read fails the agents check', async () => {
  const podProxy = (ns: string, pod: string, port: number, path: string) => (pod.endsWith('-b') ? { status: 503, body: 'connection refused' } : metrics(ns, pod, port, path));
  await withApi({ objects: installed(), podProxy }, async (api) => {
    const { code, out } = await check(api);
    assert.equal(code, 1);
    assert.match(out, /✖ agents connected: cannot read meshlet_publisher_agents from meshlet-controller-b \(503\)/);
  });
});

test('a webhook the API server does not reach (pods come back uninjected) fails', async () => {
  await withApi({ objects: installed(), podProxy: metrics }, async (api) => {
    const { code, out } = await check(api);
    assert.equal(code, 1);
    assert.match(out, /✖ injection webhook reachable: a dry-run Pod in shop came back without meshlet-proxy\n {4}hint: webhook\.failurePolicy=Ignore.*kubectl -n meshlet-system logs/);
    const elsewhere = await check(api, '--only', 'injection webhook reachable', '--namespace', 'mesh');
    assert.match(elsewhere.out, /hint: .*kubectl -n mesh logs deploy\/meshlet-controller/, 'the hint names the namespace meshlet runs in');
  });
});

test('a leader that stopped renewing its Lease fails', async () => {
  await withApi({ objects: installed({ renewTime: new Date(Date.now() - 60_000).toISOString() }), podProxy: metrics, admit: injectPods }, async (api) => {
    const { code, out } = await check(api);
    assert.equal(code, 1);
    assert.match(out, /✖ controller leader: meshlet-controller-a stopped renewing the Lease/);
  });
});

test('-o json: one document with every check, for scripts', async () => {
  await withApi({ gatewayApi: false }, async (api) => {
    const { code, out } = await check(api, '--pre', '-o', 'json');
    assert.equal(code, 1);
    const doc = JSON.parse(out) as { ok: boolean; checks: { name: string; ok: boolean; hint?: string }[] };
    assert.equal(doc.ok, false);
    assert.deepEqual(doc.checks.map((c) => [c.name, c.ok]), [['Kubernetes API', true], ['Kubernetes version', true], ['Gateway API CRDs', false], ['permission to install', true]]);
    assert.match(doc.checks[2]?.hint ?? '', /standard-install\.yaml/);
  });
  await withApi({}, async (api) => {
    assert.equal((await check(api, '-o', 'yaml')).code, 1);
  });
});

test('a proxy without a table, a GatewayClass not accepted and a route not Accepted each fail, naming what', async () => {
  const podProxy = (ns: string, pod: string, port: number, path: string) => (pod === 'web-2' ? { status: 503, body: JSON.stringify({ ready: false, version: null }) } : metrics(ns, pod, port, path));
  await withApi({ objects: installed({ classStatus: 'False', routeStatus: 'False' }), podProxy, admit: injectPods }, async (api) => {
    const { code, out } = await check(api);
    assert.equal(code, 1);
    assert.match(out, /✖ injected proxies ready: not ready: shop\/web-2 \(503\)\n {4}hint: kubectl logs <pod> -c meshlet-proxy/);
    assert.match(out, /✖ GatewayClass accepted: not accepted: meshlet \(False Accepted: backend/);
    assert.match(out, /✖ routes Accepted: not Accepted: httproute shop\/cart on cart \(False BackendNotFound: backend Service shop\/nope not found\)/);
    assert.doesNotMatch(out, /elsewhere|other/, 'routes and classes of other controllers are not ours to judge');
  });
});

test('a route Accepted only at an older generation is not Accepted yet', async () => {
  // The fake API server sets generation 1 on create, as a real one does; the status saw generation 0.
  const objects = installed().map((o) => (o.kind === 'HTTPRoute' && o.metadata.name === 'cart'
    ? { ...o, status: { parents: [{ controllerName: 'meshlet.dev/mesh-controller', parentRef: { name: 'cart' }, conditions: accepted(0) }] } } : o));
  await withApi({ objects, podProxy: metrics, admit: injectPods }, async (api) => {
    const { out } = await check(api);
    assert.match(out, /✖ routes Accepted: not Accepted: httproute shop\/cart on cart \(Accepted for generation 0, the object is at 1\)/);
  });
});

test('a garbled or expired caBundle fails like an empty one', async () => {
  const expired = generateRoot({ now: new Date(Date.now() - 3 * 86_400_000), lifetimeMs: 86_400_000, trustDomain: 'cluster.local' });
  for (const [caBundle, complaint] of [
    [b64('-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n'), /caBundle of sidecar-injector\.meshlet\.dev is not a certificate/],
    [b64(expired.caPem), /caBundle of sidecar-injector\.meshlet\.dev expired 20/],
  ] as const) {
    await withApi({ objects: installed({ caBundle }) }, async (api) => {
      const { out } = await check(api, '--only', 'injection webhook caBundle');
      assert.match(out, new RegExp(`✖ injection webhook caBundle: ${complaint.source}`));
    });
  }
});

test('--only runs just the named checks; an unknown name is a usage error', async () => {
  await withApi({ objects: installed() }, async (api) => {
    const { code, out } = await check(api, '--only', 'injection webhook caBundle', '--only', 'mesh CA');
    assert.equal(code, 0, out);
    assert.match(out, /✔ injection webhook caBundle: filled by the controller, a valid certificate\n✔ mesh CA: valid/);
    assert.match(out, /all 2 checks passed/);
    const bad = await check(api, '--only', 'webhook');
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /--only: no check named 'webhook' \(known: .*injection webhook caBundle/);
  });
});

test('proxies behind the latest version of a route fail, with the controller\'s count', async () => {
  await withApi({ objects: installed({ upToDate: 1 }), podProxy: metrics, admit: injectPods }, async (api) => {
    const { code, out } = await check(api);
    assert.equal(code, 1);
    assert.match(out, /✖ routes propagated to proxies: proxies behind: httproute shop\/cart \(1\/2 proxies at generation 4\)\n {4}hint: .*NACK/);
  });
});

test('a proxy whose certificate expired (or never came) fails the proxies check', async () => {
  const podProxy = (ns: string, pod: string, port: number, path: string) => (pod === 'web-1' && path === '/metrics'
    ? { status: 200, body: metric('meshlet_workload_certificate_expiry_seconds', 'gauge', 'none yet, or expired', 0) } : metrics(ns, pod, port, path));
  await withApi({ objects: installed(), podProxy, admit: injectPods }, async (api) => {
    const { code, out } = await check(api, '--only', 'injected proxies ready');
    assert.equal(code, 1);
    assert.match(out, /✖ injected proxies ready: not ready: shop\/web-1 \(no valid certificate\)\n {4}hint: .*CSRs fail/);
  });
});

test('a release whose webhook is renamed (webhook.name): --webhook-name names it; the default name is not consulted', async () => {
  // Another MutatingWebhookConfiguration under the default name, with an empty bundle: a check
  // that still read meshlet-injector would fail, one that reads the named webhook passes.
  const decoy: FakeObject = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'meshlet-injector' }, webhooks: [{ name: 'other.example.com', clientConfig: { caBundle: '' } }] };
  await withApi({ objects: [...installed({ webhookName: 'mesh-injector' }), decoy] }, async (api) => {
    const named = await check(api, '--only', 'injection webhook caBundle', '--webhook-name', 'mesh-injector');
    assert.equal(named.code, 0, named.out);
    assert.match(named.out, /✔ injection webhook caBundle: filled by the controller, a valid certificate/);
    const unnamed = await check(api, '--only', 'injection webhook caBundle');
    assert.equal(unnamed.code, 1);
    assert.match(unnamed.out, /✖ injection webhook caBundle: caBundle of other\.example\.com is empty/);
  });
  await withApi({ objects: installed({ webhookName: 'mesh-injector' }) }, async (api) => {
    const { code, out } = await check(api, '--only', 'injection webhook caBundle');
    assert.equal(code, 1);
    assert.match(out, /✖ injection webhook caBundle: no MutatingWebhookConfiguration meshlet-injector\n {4}hint: .*pass --webhook-name/);
  });
});
