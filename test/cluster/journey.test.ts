// The user journey on the cluster in a box (issue 13): what a user does with meshlet, on a real
// kube-apiserver whose admission chain calls meshlet's webhook, whose CRD schemas validate the
// Gateway API objects and whose RBAC authorizer enforces the chart's roles. Each step is one
// assertion a user would make; steps build on each other, so a failed step fails the rest.
// Component and pod logs are kept on failure (the path is printed by the box's stop()).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { eventually, installGatewayApiCrds } from './box/index.ts';
import { parentOf, spanKind, traceIdOf, waitForTrace, type JaegerSpan } from './box/jaeger-query.ts';
import { condition, create, describePod, listPods, readyPods, startJourneyCluster, type Condition, type JourneyCluster, type PodObj } from './journey/cluster.ts';
import { helm } from './journey/helm.ts';
import { meshlet } from './journey/meshlet-cli.ts';
import { SHOP_HOST, UNGRANTED_HOST, edgeGet, edgeSetup, type EdgeResponse } from './journey/ingress.ts';
import { echoOf, getFromPod, loadFromPod } from './journey/pod-exec.ts';
import { configDump, percentile, revisedRules, tableMentions } from './journey/route-change.ts';
import { describeRemoval, retriesSent, watchEndpointRemoval } from './journey/endpoint-removal.ts';
import { requestsTotal, scrape } from './journey/proxy-metrics.ts';
import { allowServiceAccounts, clientDeployment, collectionOf, echoDeployment, forwarderDeployment, meshRoute, service, serviceAccount } from './journey/workloads.ts';

// The chart's two controller replicas: proxies reach either one, and the leader's
// meshlet.dev/Propagated count sums both (each replica's agents on a Lease of its own, ADR 0014).
const CONTROLLER_REPLICAS = 2;

const system = 'meshlet-system';
/** The user's injected namespace: labelled before `meshlet check`, so its webhook check is real. */
const app = 'journey';
/** A namespace without the label: its pods are the cluster's business, not the mesh's. */
const plain = 'journey-plain';
/** STRICT mTLS and an AuthorizationPolicy guard Service ratings here. */
const secure = 'journey-secure';
const controllerSelector = 'app.kubernetes.io/component=controller';
const ingressSelector = 'app.kubernetes.io/component=ingress';
/** The Gateway's certificate Secrets live here, readable by Gateways in `app` through a ReferenceGrant. */
const certs = 'journey-certs';
/** The Gateway (in `app`) the shared ingress serves, and its HTTPRoute's name. */
const shop = 'shop';
let cluster: JourneyCluster | undefined;

const c = (): JourneyCluster => {
  assert.ok(cluster, 'the journey cluster started');
  return cluster;
};

/** A journey step: its failure also keeps the box's logs. */
function step(name: string, fn: () => Promise<void>, timeout = 120_000): void {
  it(name, { timeout }, async () => {
    try {
      await fn();
    } catch (err) {
      cluster?.box.noteFailure(name);
      throw err;
    }
  });
}

/** Everything a pod's container printed (the kubelet keeps it per container). */
function containerLog(ns: string, pod: string, container: string): string {
  const runner = c().kubelet.runner(ns, pod);
  assert.ok(runner, `${ns}/${pod} runs on the test kubelet`);
  return readFileSync(runner.logPath(container), 'utf8');
}

describe('the meshlet user journey on a real control plane', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    cluster = await startJourneyCluster();
  }, { timeout: 5 * 60_000 });

  after(async () => {
    await cluster?.stop();
  });

  step('1a. the Gateway API CRDs install; `helm install` of charts/meshlet succeeds on the real API server', async () => {
    const { box } = c();
    await installGatewayApiCrds(box.admin, box.components.crds.standard);
    // MESHLET_JOURNEY_CHART runs the journey against another chart directory (e.g. a copy with
    // one RBAC rule removed, to see which step fails).
    const chart = process.env.MESHLET_JOURNEY_CHART ?? 'charts/meshlet';
    // Traces go to the box's Jaeger, every request sampled (step 6 looks one up).
    const tracing = ['--set', `tracing.otlpEndpoint=${box.jaeger.otlpUrl}`, '--set', 'tracing.sampling=1'];
    const out = await helm(box.kubeconfigPath, ['install', 'meshlet', chart, '--namespace', system, '--create-namespace', '--set', `controller.replicas=${CONTROLLER_REPLICAS}`, ...tracing]);
    assert.match(out.stdout, /STATUS: deployed/, out.stdout);
  }, 5 * 60_000);

  step("1b. the controller replicas run Ready under the chart's ServiceAccount, and one holds the Lease", async () => {
    const { box } = c();
    const controllers = await readyPods(box.admin, system, controllerSelector, CONTROLLER_REPLICAS, 120_000);
    for (const p of controllers) assert.equal(p.spec.serviceAccountName, 'meshlet-controller');
    const holder = await eventually('the controller Lease held', async () => {
      const lease = (await box.admin.get(`/apis/coordination.k8s.io/v1/namespaces/${system}/leases/meshlet-controller`)).body as { spec?: { holderIdentity?: string } };
      return lease.spec?.holderIdentity || undefined;
    }, 60_000);
    assert.ok(controllers.some((p) => holder.startsWith(p.metadata.name)), `holder ${holder} is one of ${controllers.map((p) => p.metadata.name).join(', ')}`);
  }, 3 * 60_000);

  step("1c. with only the chart's RBAC the controller writes what it owns: the webhook caBundle and the GatewayClass status", async () => {
    const { box } = c();
    // Both writes need a permission only the chart's ClusterRole grants (patch of our own
    // webhook configuration by name; gatewayclasses/status): a missing rule leaves them unset.
    const caBundle = await eventually('the webhook caBundle filled by the controller', async () => {
      const hook = (await box.admin.get('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/meshlet-injector')).body as { webhooks: { clientConfig: { caBundle?: string } }[] };
      return hook.webhooks[0]?.clientConfig.caBundle || undefined;
    }, 60_000);
    assert.match(Buffer.from(caBundle, 'base64').toString(), /-----BEGIN CERTIFICATE-----/);
    const accepted = await eventually('GatewayClass meshlet Accepted', async () => {
      const gc = (await box.admin.get('/apis/gateway.networking.k8s.io/v1/gatewayclasses/meshlet')).body as { status?: { conditions?: Condition[] } };
      const cond = condition(gc.status?.conditions, 'Accepted');
      return cond?.status === 'True' ? cond : undefined;
    }, 60_000);
    assert.equal(accepted.status, 'True');
    // And nothing it tried was refused: the API server answered no request with 403.
    for (const p of await listPods(box.admin, system, controllerSelector)) {
      const log = containerLog(system, p.metadata.name, 'controller');
      assert.doesNotMatch(log, /\b403\b|forbidden/i, `${p.metadata.name} was refused something:\n${log.split('\n').filter((l) => /403|forbidden/i.test(l)).slice(0, 5).join('\n')}`);
    }
  });
  step('2. `meshlet check` against the box\'s kubeconfig passes every check (the webhook tried in a labelled namespace)', async () => {
    const { box } = c();
    await create(box.admin, '/api/v1/namespaces', { metadata: { name: app, labels: { 'meshlet.dev/inject': 'enabled' } } });
    // The controller publishes the mesh root into injected namespaces; check looks for it.
    await eventually(`meshlet-root-ca in ${app}`, async () => ((await box.admin.get(`/api/v1/namespaces/${app}/configmaps/meshlet-root-ca`)).status === 200 ? true : undefined), 60_000);
    const run = await meshlet(['check', '--kubeconfig', box.kubeconfigPath, '--namespace', system, '-o', 'json']);
    type Report = { ok: boolean; checks: { name: string; ok: boolean; detail: string; hint?: string }[] };
    const report = JSON.parse(run.stdout) as Report;
    const failed = report.checks.filter((k) => !k.ok).map((k) => `✖ ${k.name}: ${k.detail} (${k.hint ?? ''})`);
    assert.deepEqual(failed, [], run.stdout);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(report.ok, true);
    const webhook = report.checks.find((k) => k.name === 'injection webhook reachable');
    assert.match(webhook?.detail ?? '', new RegExp(`a dry-run Pod in ${app} was injected`));
    const text = await meshlet(['check', '--kubeconfig', box.kubeconfigPath, '--namespace', system]);
    assert.equal(text.code, 0, text.stdout);
    assert.doesNotMatch(text.stdout, /✖/);
  });

  const injected = (p: PodObj): boolean => (p.spec.initContainers ?? []).some((ic) => ic.name === 'meshlet-proxy' && ic.restartPolicy === 'Always');

  step("3a. in the labelled namespace the examples' Deployments come up injected by the real webhook (API server admission chain)", async () => {
    const { box } = c();
    const objects = [
      serviceAccount(app, 'reviews'),
      serviceAccount(app, 'productpage'),
      echoDeployment(app, 'reviews-v1', { app: 'reviews', version: 'v1' }, { serviceAccount: 'reviews' }),
      echoDeployment(app, 'reviews-v2', { app: 'reviews', version: 'v2' }, { serviceAccount: 'reviews' }),
      service(app, 'reviews', { app: 'reviews' }, 9080),
      service(app, 'reviews-v1', { app: 'reviews', version: 'v1' }, 9080),
      meshRoute(app, 'reviews', 'reviews', 'reviews-v1', 9080),
      clientDeployment(app, 'productpage', 'productpage'),
    ];
    for (const o of objects) await create(box.admin, collectionOf(o), o);
    for (const [selector, count] of [['app=reviews', 2], ['app=productpage', 1]] as const) {
      for (const p of await readyPods(box.admin, app, selector, count, 120_000)) {
        assert.ok(injected(p), `${p.metadata.name} has the meshlet-proxy native sidecar: ${describePod(p)}`);
        assert.ok((p.spec.initContainers ?? []).some((ic) => ic.name === 'meshlet-init'), `${p.metadata.name} has meshlet-init`);
        assert.ok(p.metadata.annotations?.['meshlet.dev/injection-status'], `${p.metadata.name} carries the injection status`);
      }
    }
  }, 3 * 60_000);

  step("3b. an unlabelled namespace's pods are not injected, and stay schedulable with the controller scaled to 0", async () => {
    const { box } = c();
    const scale = async (replicas: number): Promise<void> => {
      const res = await box.admin.request('PATCH', `/apis/apps/v1/namespaces/${system}/deployments/meshlet-controller/scale`, { spec: { replicas } }, { contentType: 'application/merge-patch+json' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    };
    await scale(0);
    const stopped = new Date().toISOString();
    try {
      await eventually('no controller pods', async () => ((await listPods(box.admin, system, controllerSelector)).length === 0 ? true : undefined), 60_000);
      await create(box.admin, '/api/v1/namespaces', { metadata: { name: plain } });
      for (const o of [echoDeployment(plain, 'web', { app: 'web' }), clientDeployment(plain, 'outsider')]) await create(box.admin, collectionOf(o), o);
      const [pod] = await readyPods(box.admin, plain, 'app=web', 1, 60_000);
      assert.ok(pod && !injected(pod), `not injected: ${pod ? describePod(pod) : ''}`);
      assert.equal(pod.spec.initContainers, undefined);
      await readyPods(box.admin, plain, 'app=outsider', 1, 60_000);
    } finally {
      await scale(CONTROLLER_REPLICAS);
    }
    await readyPods(box.admin, system, controllerSelector, CONTROLLER_REPLICAS, 120_000);
    // Every proxy that lost the controllers reconnects to the new ones (the Service's new
    // endpoints), well within the agent's 15 s maximum backoff. Only connections logged after
    // the scale-down count (a proxy's first start already logs two: token, then certificate).
    const proxies = await listPods(box.admin, app, '');
    const reconnected = (pod: string): boolean => containerLog(app, pod, 'meshlet-proxy').split('\n')
      .some((l) => l.includes('connected to controller') && l.slice(0, 24) > stopped);
    await eventually('every proxy in the namespace reconnected', () => Promise.resolve(
      proxies.every((p) => reconnected(p.metadata.name)) ? true : undefined), 60_000, 500);
  }, 4 * 60_000);

  step("4a. GAMMA: a meshed client's calls to Service reviews all land on reviews-v1, over mTLS (the app sees the caller's SPIFFE ID)", async () => {
    const { box, kubelet } = c();
    const [client] = await listPods(box.admin, app, 'app=productpage');
    assert.ok(client);
    const v1 = new Set((await listPods(box.admin, app, 'app=reviews,version=v1')).map((p) => p.metadata.name));
    // The route reaches the client's proxy moments after it is written: wait for the first
    // routed answer (bounded), then every answer must be routed. No answer may ever arrive in
    // plaintext: a proxy that cannot get the controller's answer for a destination refuses
    // (503), it never passes the call through (the fail-open fixed on 2026-12-06).
    const url = `http://reviews.${app}.svc.cluster.local:9080/`;
    let last = '';
    const plaintext: string[] = [];
    await eventually('the route applied by the client proxy', async () => {
      const [r] = await getFromPod(kubelet, app, client.metadata.name, url);
      last = JSON.stringify(r).slice(0, 500);
      if (r?.status === 200 && (echoOf(r).headers['X-Forwarded-Client-Cert']?.[0] ?? '') === '') plaintext.push(last);
      return r?.status === 200 && v1.has(echoOf(r).pod) ? true : undefined;
    }, 60_000, 500).catch((err: Error) => assert.fail(`${err.message}; last answer ${last}`));
    assert.deepEqual(plaintext, [], 'no answer arrived without mTLS');
    const answers = await getFromPod(kubelet, app, client.metadata.name, url, 20);
    const failures = answers.filter((r) => r.status !== 200);
    assert.deepEqual(failures, [], 'every request answered');
    const pods = answers.map((r) => echoOf(r).pod);
    assert.deepEqual(pods.filter((p) => !v1.has(p)), [], `all on reviews-v1 (${[...v1].join(', ')})`);
    const seen = echoOf(answers[0] ?? { status: 0, body: '{}' }).headers;
    const xfcc = seen['X-Forwarded-Client-Cert']?.[0] ?? '';
    assert.match(xfcc, new RegExp(`URI=spiffe://cluster\\.local/ns/${app}/sa/productpage(;|$)`), `x-forwarded-client-cert: '${xfcc}' in ${JSON.stringify(seen)}`);
    assert.match(xfcc, new RegExp(`By=spiffe://cluster\\.local/ns/${app}/sa/reviews(;|$)`));
  });

  /** The first pod of a Deployment (by its app label). */
  const podOf = async (ns: string, appLabel: string): Promise<string> => {
    const [p] = await listPods(c().box.admin, ns, `app=${appLabel}`);
    assert.ok(p, `a pod app=${appLabel} in ${ns}`);
    return p.metadata.name;
  };

  step('4b. a namespace labelled for injection gets the mesh root (meshlet-root-ca) within 15 s', async () => {
    const { box } = c();
    const labelled = Date.now();
    // STRICT for the whole namespace: its pods' default (a pod annotation could still override it).
    await create(box.admin, '/api/v1/namespaces', { metadata: { name: secure, labels: { 'meshlet.dev/inject': 'enabled' }, annotations: { 'meshlet.dev/mtls-mode': 'STRICT' } } });
    // Its pods' proxies mount it: until it exists they wait in ContainerCreating.
    await eventually(`meshlet-root-ca in ${secure}`, async () => ((await box.admin.get(`/api/v1/namespaces/${secure}/configmaps/meshlet-root-ca`)).status === 200 ? true : undefined), 90_000, 200);
    const took = Date.now() - labelled;
    process.stdout.write(`# meshlet-root-ca published into a newly labelled namespace after ${took} ms\n`);
    assert.ok(took < 15_000, `meshlet-root-ca appeared ${took} ms after the namespace was labelled (RootPublisher.syncNamespace is never called: only the 60 s resync publishes)`);
  }, 2 * 60_000);

  step('4c. a STRICT namespace refuses a plaintext pod; an AuthorizationPolicy admits one ServiceAccount and denies another', async () => {
    const { box, kubelet } = c();
    await eventually(`default ServiceAccount in ${secure}`, async () => ((await box.admin.get(`/api/v1/namespaces/${secure}/serviceaccounts/default`)).status === 200 ? true : undefined), 60_000);
    const objects = [
      serviceAccount(app, 'details'),
      clientDeployment(app, 'details', 'details'),
      serviceAccount(secure, 'ratings'),
      echoDeployment(secure, 'ratings', { app: 'ratings' }, { serviceAccount: 'ratings' }),
      service(secure, 'ratings', { app: 'ratings' }, 9080),
    ];
    for (const o of objects) await create(box.admin, collectionOf(o), o);
    await readyPods(box.admin, secure, 'app=ratings', 1, 120_000);
    await readyPods(box.admin, app, 'app=details', 1, 120_000);
    const url = `http://ratings.${secure}.svc.cluster.local:9080/`;
    const from = async (ns: string, appLabel: string): Promise<{ status: number; reason: string; body: string }> => {
      const [r] = await getFromPod(kubelet, ns, await podOf(ns, appLabel), url);
      assert.ok(r);
      return { status: r.status, reason: r.headers?.['x-meshlet-denied-reason'] ?? '', body: r.error ?? r.body };
    };
    // The EndpointSlice follows the pod's readiness moments later; until then the ClusterIP
    // refuses every caller (kube-proxy's REJECT): wait for an answer, bounded.
    const plaintext = await eventually('ratings answering the plaintext pod', async () => {
      const r = await from(plain, 'outsider');
      return r.status !== 0 ? r : undefined;
    }, 30_000, 250);
    assert.equal(plaintext.status, 403, `a plaintext pod is refused: ${JSON.stringify(plaintext)}`);
    const [ratings] = await listPods(box.admin, secure, 'app=ratings');
    const proxyEnv = (ratings?.spec.initContainers ?? []).find((k) => k.name === 'meshlet-proxy') as { env?: { name: string; value?: string }[] } | undefined;
    assert.equal(proxyEnv?.env?.find((e) => e.name === 'MESHLET_MTLS_MODE')?.value, 'STRICT', 'the namespace annotation made the injected proxy STRICT');
    assert.match(plaintext.reason, /STRICT mTLS: plaintext is refused/);
    const policy = allowServiceAccounts(secure, 'ratings-callers', 'ratings', [[app, 'productpage']]);
    await create(box.admin, collectionOf(policy), policy);
    // The policy reaches the ratings proxy moments after it is written: wait (bounded) until
    // the denied caller is denied, then every verdict must hold.
    let last = '';
    await eventually('the policy enforced on details', async () => {
      const r = await from(app, 'details');
      last = JSON.stringify(r);
      return r.status === 403 ? true : undefined;
    }, 60_000, 500).catch(async (err: Error) => {
      const policy = await box.admin.get(`/apis/policy.meshlet.dev/v1alpha1/namespaces/${secure}/authorizationpolicies/ratings-callers`);
      assert.fail(`${err.message}; details got ${last}; the policy's status: ${JSON.stringify((policy.body as { status?: unknown }).status)}`);
    });
    // ratings is new to productpage's proxy: its first call may wait for (or, unanswered, be
    // refused with 503 until) the controller's answer, but is never sent in plaintext (a 403).
    const refused: string[] = [];
    const allowed = await eventually('productpage answered over mTLS', async () => {
      const r = await from(app, 'productpage');
      if (r.status === 403) refused.push(JSON.stringify(r));
      return r.status === 200 ? r : undefined;
    }, 30_000, 500).catch(async () => from(app, 'productpage'));
    assert.deepEqual(refused, [], 'productpage was never refused (a 403 here is plaintext meeting STRICT)');
    assert.equal(allowed.status, 200, `productpage is allowed: ${JSON.stringify(allowed)}`);
    assert.match((JSON.parse(allowed.body) as { pod: string }).pod, /^ratings-/);
    const denied = await from(app, 'details');
    assert.equal(denied.status, 403, JSON.stringify(denied));
    assert.match(denied.reason, /ratings-callers/, 'the denial names the policy');
    assert.match(denied.reason, new RegExp(`spiffe://cluster\\.local/ns/${app}/sa/details`), 'and the caller');
  }, 4 * 60_000);

  /** The test CA the Gateway's certificates are signed by (set by 4d). */
  let edgeCa = '';
  /** The address the box's load balancer gave the chart's ingress Service (set by 4d). */
  let edgeAddress = '';
  const fromEdge = (port: number, extra: { path?: string; headers?: Record<string, string> } = {}): Promise<EdgeResponse> =>
    edgeGet({ address: edgeAddress, port, host: SHOP_HOST, ...extra, ...(port === 443 ? { ca: edgeCa } : {}) });

  step("4d. the shared ingress serves a Gateway's HTTP listener and its HTTPS listener (certificate from another namespace by ReferenceGrant) to the meshed backend", async () => {
    const { box } = c();
    const edge = edgeSetup(app, certs, shop, 'reviews-v1', 9080);
    edgeCa = edge.ca.cert;
    for (const o of edge.objects) await create(box.admin, o.path, o.body);
    await readyPods(box.admin, system, ingressSelector, 1, 60_000);
    type Svc = { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } };
    edgeAddress = await eventually('the ingress Service\'s LoadBalancer address', async () =>
      ((await box.admin.get(`/api/v1/namespaces/${system}/services/meshlet-ingress`)).body as Svc).status?.loadBalancer?.ingress?.[0]?.ip, 30_000);
    const v1 = new Set((await listPods(box.admin, app, 'app=reviews,version=v1')).map((p) => p.metadata.name));
    const ingressId = `URI=spiffe://cluster\\.local/ns/${system}/sa/meshlet-ingress(;|$)`;
    // The Gateway reaches the ingress moments after it is written: wait (bounded) for the first
    // routed answer on each listener, then every answer must be routed, over mTLS to the sidecar.
    for (const port of [80, 443]) {
      let last = '';
      await eventually(`the ingress answering on ${port}`, async () => {
        const r = await fromEdge(port);
        last = JSON.stringify(r).slice(0, 500);
        return r.status === 200 ? true : undefined;
      }, 60_000, 500).catch((err: Error) => assert.fail(`${err.message}; last answer ${last}`));
      const answers = await Promise.all(Array.from({ length: 10 }, () => fromEdge(port)));
      assert.deepEqual(answers.filter((r) => r.status !== 200), [], `every request on ${port} answered`);
      for (const r of answers) {
        const echo = JSON.parse(r.body) as { pod: string; headers: Record<string, string[]> };
        assert.ok(v1.has(echo.pod), `port ${port} reached ${echo.pod}, not reviews-v1 (${[...v1].join(', ')})`);
        const xfcc = echo.headers['X-Forwarded-Client-Cert']?.[0] ?? '';
        assert.match(xfcc, new RegExp(ingressId), `port ${port}: the backend's sidecar saw the ingress's identity over mTLS: '${xfcc}'`);
      }
    }
    // The certificate was verified against the test CA for SNI shop.journey.test (edgeGet sets
    // both); the listener whose Secret no grant covers serves no certificate for its host.
    const ungranted = await edgeGet({ address: edgeAddress, port: 443, host: UNGRANTED_HOST, ca: edgeCa });
    assert.equal(ungranted.status, 0, `no verified TLS for ${UNGRANTED_HOST}: ${JSON.stringify(ungranted).slice(0, 300)}`);
    // ...refused in the handshake, by the same listener port that just served shop.journey.test.
    assert.doesNotMatch(ungranted.error ?? '', /ECONNREFUSED|no answer within/, 'a TLS failure, not a connection failure');
  }, 3 * 60_000);

  type RouteStatus = { metadata: { generation: number }; status?: { parents?: { controllerName: string; parentRef: { kind?: string; name: string }; conditions: Condition[] }[] } };
  /** Our entry in a route's status for its parent Service, once it has every wanted condition True. */
  const routeEntry = async (ns: string, name: string, wanted: string[], timeoutMs: number): Promise<{ conditions: Condition[]; generation: number }> => {
    let last = '';
    return eventually(`HTTPRoute ${ns}/${name}: ${wanted.join(', ')}`, async () => {
      const route = (await c().box.admin.get(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes/${name}`)).body as RouteStatus;
      const entry = route.status?.parents?.find((p) => p.controllerName === 'meshlet.dev/mesh-controller');
      last = JSON.stringify(route.status ?? null);
      return entry && wanted.every((t) => condition(entry.conditions, t)?.status === 'True') ? { conditions: entry.conditions, generation: route.metadata.generation } : undefined;
    }, timeoutMs, 500).catch((err: Error) => assert.fail(`${err.message}; status: ${last}`));
  };

  step('5a. the GAMMA route\'s status as the API shows it: Accepted, ResolvedRefs and meshlet.dev/Propagated counting the real proxies', async () => {
    // The count follows proxies (re)subscribing after the controllers came back: wait for it to
    // name at least the client proxy, bounded.
    const entry = await eventually('Propagated counting the client proxy', async () => {
      const e = await routeEntry(app, 'reviews', ['Accepted', 'ResolvedRefs', 'meshlet.dev/Propagated'], 60_000);
      return /^[1-9]\d*\//.test(condition(e.conditions, 'meshlet.dev/Propagated')?.message ?? '') ? e : undefined;
    }, 60_000, 1000);
    const propagated = condition(entry.conditions, 'meshlet.dev/Propagated');
    const m = /^(\d+)\/(\d+) proxies at generation (\d+)$/.exec(propagated?.message ?? '');
    assert.ok(m, `Propagated message: ${propagated?.message}`);
    assert.equal(m[1], m[2], 'every proxy that uses the route runs it');
    assert.ok(Number(m[2]) >= 1, 'the client proxy that called reviews counts');
    assert.equal(Number(m[3]), entry.generation);
  }, 90_000);

  step('5b. a route written while the controllers run is Accepted within 30 s (the watch, not a restart, brings it)', async () => {
    const { box } = c();
    const route = meshRoute(app, 'reviews-v1-pin', 'reviews-v1', 'reviews-v1', 9080);
    await create(box.admin, collectionOf(route), route);
    await routeEntry(app, 'reviews-v1-pin', ['Accepted', 'ResolvedRefs'], 30_000);
  }, 60_000);

  step("5c. the Gateway's status as `kubectl get gateway` shows it: Accepted, Programmed at the load balancer's address, attachedRoutes per listener, the ungranted Secret RefNotPermitted; the GatewayClass Accepted", async () => {
    const { box } = c();
    type Listener = { name: string; attachedRoutes: number; conditions: Condition[] };
    type Gw = { metadata: { generation: number }; status?: { addresses?: { type: string; value: string }[]; conditions?: Condition[]; listeners?: Listener[] } };
    let last = '';
    const gw = await eventually(`Gateway ${app}/${shop} Programmed`, async () => {
      const g = (await box.admin.get(`/apis/gateway.networking.k8s.io/v1/namespaces/${app}/gateways/${shop}`)).body as Gw;
      last = JSON.stringify(g.status ?? null);
      return condition(g.status?.conditions, 'Programmed')?.status === 'True' ? g : undefined;
    }, 30_000, 500).catch((err: Error) => assert.fail(`${err.message}; status: ${last}`));
    const status = gw.status ?? {};
    assert.equal(condition(status.conditions, 'Accepted')?.status, 'True', last);
    for (const k of status.conditions ?? []) assert.equal(k.observedGeneration, gw.metadata.generation, `${k.type} observedGeneration`);
    assert.deepEqual(status.addresses, [{ type: 'IPAddress', value: edgeAddress }], "the ingress Service's LoadBalancer address");
    const listener = (name: string): Listener => {
      const l = status.listeners?.find((x) => x.name === name);
      assert.ok(l, `listener ${name} in ${last}`);
      return l;
    };
    const summary = (l: Listener): Record<string, string> => Object.fromEntries(['Accepted', 'ResolvedRefs', 'Programmed'].map((t) => [t, `${condition(l.conditions, t)?.status}/${condition(l.conditions, t)?.reason}`]));
    for (const name of ['http', 'https']) {
      const l = listener(name);
      assert.equal(l.attachedRoutes, 1, `${name} attachedRoutes`);
      assert.deepEqual(summary(l), { Accepted: 'True/Accepted', ResolvedRefs: 'True/ResolvedRefs', Programmed: 'True/Programmed' }, name);
    }
    const ungranted = listener('https-ungranted');
    assert.equal(ungranted.attachedRoutes, 0);
    assert.equal(summary(ungranted).ResolvedRefs, 'False/RefNotPermitted', JSON.stringify(ungranted.conditions));
    assert.equal(condition(ungranted.conditions, 'Programmed')?.status, 'False');
    // The route's own status names the Gateway controller for both listeners it attached to.
    type Route = { status?: { parents?: { controllerName: string; parentRef: { sectionName?: string }; conditions: Condition[] }[] } };
    const route = (await box.admin.get(`/apis/gateway.networking.k8s.io/v1/namespaces/${app}/httproutes/${shop}`)).body as Route;
    const parents = (route.status?.parents ?? []).filter((p) => p.controllerName === 'meshlet.dev/gateway-controller');
    assert.deepEqual(parents.map((p) => [p.parentRef.sectionName, condition(p.conditions, 'Accepted')?.status, condition(p.conditions, 'ResolvedRefs')?.status]).sort(),
      [['http', 'True', 'True'], ['https', 'True', 'True']], JSON.stringify(route.status));
    type Gc = { metadata: { generation: number }; status?: { conditions?: Condition[] } };
    const gc = (await box.admin.get('/apis/gateway.networking.k8s.io/v1/gatewayclasses/meshlet')).body as Gc;
    const accepted = condition(gc.status?.conditions, 'Accepted');
    assert.equal(accepted?.status, 'True', JSON.stringify(gc.status));
    assert.equal(accepted.observedGeneration, gc.metadata.generation);
  });

  step("6. one request ingress → sidecar → sidecar: each proxy's /metrics counts it once; in Jaeger it is one trace, each span under the hop before", async () => {
    const { box } = c();
    // frontpage calls reviews for every request it gets (passing the trace context on, as apps
    // must); the Gateway sends /front to it.
    const front = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'front', namespace: app },
      spec: {
        parentRefs: [{ name: shop, sectionName: 'http' }],
        hostnames: [SHOP_HOST],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/front' } }], backendRefs: [{ name: 'frontpage', port: 9080 }] }],
      },
    };
    const objects = [serviceAccount(app, 'frontpage'), forwarderDeployment(app, 'frontpage', `http://reviews.${app}.svc.cluster.local:9080/`, 'frontpage'), service(app, 'frontpage', { app: 'frontpage' }, 9080), front];
    for (const o of objects) await create(box.admin, collectionOf(o), o);
    const [frontpage] = await readyPods(box.admin, app, 'app=frontpage', 1, 120_000);
    const [ingress] = await readyPods(box.admin, system, ingressSelector, 1, 10_000);
    const [reviews] = await listPods(box.admin, app, 'app=reviews,version=v1');
    assert.ok(frontpage?.status.podIP && ingress?.status.podIP && reviews?.status.podIP, 'pod IPs');
    // The route reaches the ingress moments after it is written: wait for the first answer that
    // came through frontpage from reviews-v1 (bounded).
    let last = '';
    const viaFrontpage = new RegExp(`URI=spiffe://cluster\\.local/ns/${app}/sa/frontpage(;|$)`);
    await eventually('/front answered by reviews-v1 through frontpage', async () => {
      const r = await fromEdge(80, { path: '/front' });
      last = JSON.stringify(r).slice(0, 600);
      if (r.status !== 200) return undefined;
      const echo = JSON.parse(r.body) as { pod: string; headers: Record<string, string[]> };
      return echo.pod === reviews.metadata.name && viaFrontpage.test(echo.headers['X-Forwarded-Client-Cert']?.[0] ?? '') ? true : undefined;
    }, 60_000, 500).catch((err: Error) => assert.fail(`${err.message}; last answer ${last}`));

    const proxies = { ingress: ingress.status.podIP, frontpage: frontpage.status.podIP, reviews: reviews.status.podIP };
    const counts = async (): Promise<Record<string, number>> => {
      const [i, f, r] = await Promise.all([scrape(proxies.ingress), scrape(proxies.frontpage), scrape(proxies.reviews)]);
      const ok = { response_code: '200' };
      return {
        'ingress (reporter=ingress)': requestsTotal(i, { ...ok, reporter: 'ingress', destination_service: `frontpage.${app}.svc.cluster.local` }),
        'frontpage inbound (reporter=destination)': requestsTotal(f, { ...ok, reporter: 'destination' }),
        'frontpage outbound (reporter=source)': requestsTotal(f, { ...ok, reporter: 'source', destination_service: `reviews-v1.${app}.svc.cluster.local` }),
        'reviews-v1 inbound from frontpage (reporter=destination)': requestsTotal(r, { ...ok, reporter: 'destination', source_principal: `spiffe://cluster.local/ns/${app}/sa/frontpage` }),
      };
    };
    const before = await counts();
    const r = await fromEdge(80, { path: '/front/one' });
    assert.equal(r.status, 200, JSON.stringify(r));
    const traceparent = (JSON.parse(r.body) as { headers: Record<string, string[]> }).headers.Traceparent?.[0] ?? '';
    const traceId = traceIdOf(traceparent);
    // Each proxy counts the request once it has answered; the ingress's count may land a moment
    // after the response reached us.
    const delta = await eventually('every proxy counted the request', async () => {
      const after = await counts();
      const d = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
      return Object.values(d).every((n) => n >= 1) ? d : undefined;
    }, 10_000, 250).catch(async () => Object.fromEntries(Object.entries(await counts()).map(([k, v]) => [k, v - (before[k] ?? 0)])));
    assert.deepEqual(delta, Object.fromEntries(Object.keys(before).map((k) => [k, 1])), 'each proxy counted the one request once');

    // The whole trace, each span under the one before: ingress SERVER + CLIENT; frontpage's
    // inbound SERVER + CLIENT to the app; frontpage's outbound CLIENT (under the context the app
    // passed on); reviews-v1's inbound SERVER + CLIENT.
    const expected: [kind: string, proxy: string][] = [
      ['server', 'ingress'], ['client', 'ingress'], ['server', 'frontpage'], ['client', 'frontpage'], ['client', 'frontpage'], ['server', 'reviews-v1'], ['client', 'reviews-v1'],
    ];
    // The chart's tracing.otlpEndpoint reaches the injected sidecars through the mesh config
    // (OTEL_EXPORTER_OTLP_ENDPOINT); they export in batches (up to 5 s apart), hence the wait.
    const trace = await waitForTrace(box.jaeger.queryUrl, traceId, expected.length, 20_000);
    assert.ok(trace, `trace ${traceId} is in Jaeger`);
    const serviceOf = (s: JaegerSpan): string => trace.processes[s.processID]?.serviceName ?? '?';
    const describe = trace.spans.map((s) => `${serviceOf(s)} ${String(spanKind(s))} ${s.operationName} ${s.spanID}<-${parentOf(s) ?? 'root'}`).join('\n');
    const roots = trace.spans.filter((s) => parentOf(s) === undefined);
    assert.equal(roots.length, 1, `one root:\n${describe}`);
    const chain: JaegerSpan[] = [roots[0]!];
    for (let i = 0; i < trace.spans.length; i++) {
      const parent: JaegerSpan = chain.at(-1)!;
      const kids: JaegerSpan[] = trace.spans.filter((s) => parentOf(s) === parent.spanID);
      if (kids.length === 0) break;
      assert.equal(kids.length, 1, `one child of ${parent.spanID}:\n${describe}`);
      chain.push(kids[0]!);
    }
    assert.equal(chain.length, trace.spans.length, `every span is in the one chain:\n${describe}`);
    process.stdout.write(`# trace ${traceId}: ${chain.length} of ${expected.length} spans\n${chain.map((s) => `#   ${serviceOf(s)} ${String(spanKind(s))} ${s.operationName}`).join('\n')}\n`);
    assert.deepEqual(chain.map((s) => spanKind(s)), expected.map(([kind]) => kind), `a span per hop and side, ingress to reviews-v1:\n${describe}`);
    // One process per proxy: spans of the same hop share a service, different hops do not.
    const services = chain.map(serviceOf);
    for (let i = 0; i < chain.length; i++) {
      for (let j = i + 1; j < chain.length; j++) {
        assert.equal(services[i] === services[j], expected[i]![1] === expected[j]![1], `spans ${i} and ${j}: ${services.join(', ')}`);
      }
    }
  }, 3 * 60_000);

  step('7a. a Job with an injected pod completes: its app calls through the mesh and exits 0, and the native sidecar stops with it', async () => {
    const { box } = c();
    const script = `fetch('http://reviews.${app}.svc.cluster.local:9080/', { signal: AbortSignal.timeout(5000) }).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(2))`;
    await create(box.admin, `/apis/batch/v1/namespaces/${app}/jobs`, {
      metadata: { name: 'once' },
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', serviceAccountName: 'productpage', containers: [{ name: 'work', image: 'meshlet/toolbox:dev', command: [process.execPath, '-e', script] }] } } },
    });
    type Job = { status: { succeeded?: number; failed?: number; conditions?: { type: string; status: string }[] } };
    const job = await eventually('the Job finished', async () => {
      const j = (await box.admin.get(`/apis/batch/v1/namespaces/${app}/jobs/once`)).body as Job;
      return j.status.conditions?.some((k) => (k.type === 'Complete' || k.type === 'Failed') && k.status === 'True') ? j : undefined;
    }, 120_000);
    const [pod] = await listPods(box.admin, app, 'batch.kubernetes.io/job-name=once');
    assert.ok(pod, 'the Job pod');
    assert.ok(injected(pod), `the Job pod is injected: ${describePod(pod)}`);
    assert.equal(job.status.succeeded, 1, `the Job completed: ${JSON.stringify(job.status)}; ${describePod(pod)}`);
    assert.equal(pod.status.phase, 'Succeeded');
  }, 3 * 60_000);

  step('7b. after a kube-apiserver restart the mesh keeps working: routing answers, a new route is Accepted, the Lease is held', async () => {
    const { box, kubelet } = c();
    await box.restart('kube-apiserver');
    const client = await podOf(app, 'productpage');
    const answers = await getFromPod(kubelet, app, client, `http://reviews.${app}.svc.cluster.local:9080/`, 5);
    assert.deepEqual(answers.filter((r) => r.status !== 200), [], 'routing never depended on the API server being up');
    const route = meshRoute(app, 'after-restart', 'reviews-v1', 'reviews-v1', 9080);
    await eventually('the route created after the restart', async () => ((await box.admin.post(collectionOf(route), route)).status === 201 ? true : undefined), 30_000);
    // The controllers' watches resume on the new API server process: the route gets its status.
    await routeEntry(app, 'after-restart', ['Accepted', 'ResolvedRefs'], 60_000);
    const lease = (await box.admin.get(`/apis/coordination.k8s.io/v1/namespaces/${system}/leases/meshlet-controller`)).body as { spec?: { holderIdentity?: string; renewTime?: string } };
    assert.ok(lease.spec?.holderIdentity, 'a leader holds the Lease');
    await eventually('the Lease renewed after the restart', async () => {
      const l = (await box.admin.get(`/apis/coordination.k8s.io/v1/namespaces/${system}/leases/meshlet-controller`)).body as { spec?: { renewTime?: string } };
      return l.spec?.renewTime && l.spec.renewTime !== lease.spec?.renewTime ? true : undefined;
    }, 60_000, 500);
  }, 3 * 60_000);
  step('7c. rolling reviews-v1 (a new pod template, as `kubectl rollout restart` writes it) under steady traffic fails no request', async () => {
    const { box, kubelet } = c();
    const client = await podOf(app, 'productpage');
    const oldPods = await listPods(box.admin, app, 'app=reviews,version=v1');
    const before = oldPods.map((p) => p.metadata.name);
    const clientIp = (await listPods(box.admin, app, 'app=productpage'))[0]?.status.podIP;
    // Each answer takes 100 ms (the echo app's delay), so requests are always in flight at the
    // old pod while it is told to stop: it must finish them and get no new ones. Two loops of
    // sequential requests: steady, not a flood on a shared machine.
    const url = `http://reviews.${app}.svc.cluster.local:9080/?delay_ms=100`;
    const loadMs = 45_000;
    const retriesBefore = clientIp ? await retriesSent(clientIp) : null;
    const started = Date.now();
    const load = loadFromPod(kubelet, app, client, url, loadMs, 2);
    // what the default retry covers (ADR 0022): how long the old pod stays in the client's table once deleted
    const old = oldPods[0];
    const removal = old?.status.podIP && clientIp ? watchEndpointRemoval(box.admin, app, old.metadata.name, old.status.podIP, clientIp, started + loadMs) : null;
    await sleep(3000);
    const res = await box.admin.request('PATCH', `/apis/apps/v1/namespaces/${app}/deployments/reviews-v1`,
      { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } }, { contentType: 'application/strategic-merge-patch+json' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // The rollout is done when the old pod is gone and a new one is Ready (maxSurge 1, maxUnavailable 0).
    const after = await eventually('the rollout of reviews-v1 complete', async () => {
      const pods = await listPods(box.admin, app, 'app=reviews,version=v1');
      return pods.length === 1 && !before.includes(pods[0]!.metadata.name) && pods[0]!.status.phase === 'Running' ? pods.map((p) => p.metadata.name) : undefined;
    }, loadMs - 8000, 250);
    const rolledAfterMs = Date.now() - started;
    const report = await load;
    process.stdout.write(`# rollout of reviews-v1 under traffic: ${report.total} requests, by status ${JSON.stringify(report.byStatus)}, by pod ${JSON.stringify(report.byPod)}; old pod gone ${rolledAfterMs} ms into ${loadMs} ms of traffic\n`);
    if (removal && old) process.stdout.write(`# ${describeRemoval(old.metadata.name, await removal)}\n`);
    const retriesAfter = clientIp ? await retriesSent(clientIp) : null;
    if (retriesBefore !== null && retriesAfter !== null) process.stdout.write(`# the client proxy retried ${retriesAfter - retriesBefore} requests meanwhile (meshlet_upstream_retries_total)\n`);
    assert.ok(rolledAfterMs + 3000 < loadMs, 'traffic kept flowing after the rollout finished');
    assert.ok(report.total > 20, `steady traffic: ${report.total} requests`);
    assert.deepEqual(report.failures, [], `no failed request during the rollout: ${JSON.stringify(report.byStatus)}`);
    assert.ok(before.every((p) => (report.byPod[p] ?? 0) > 0) && after.every((p) => (report.byPod[p] ?? 0) > 0), `the old pod and the new one both answered: ${JSON.stringify(report.byPod)}`);
  }, 2 * 60_000);

  step('7d. a route change reaches every proxy that uses the route (delay from write to applied reported, p99 bounded)', async () => {
    const { box, kubelet } = c();
    // The proxies using the two routes changed here: the sidecars that call reviews and the
    // ingress (route shop): each one whose table in force names either route.
    const injectedPods = (await listPods(box.admin, app)).filter((p) => injected(p) && p.status.phase === 'Running' && p.status.podIP);
    const [ingress] = await listPods(box.admin, system, ingressSelector);
    const candidates = [...injectedPods, ...(ingress ? [ingress] : [])].map((p) => ({ name: p.metadata.name, ip: p.status.podIP! }));
    const proxies: typeof candidates = [];
    for (const p of candidates) {
      const dump = await configDump(p.ip).catch(() => undefined);
      if (dump && (tableMentions(dump, `httproute/${app}/reviews/`) || tableMentions(dump, `httproute/${app}/${shop}/`))) proxies.push(p);
    }
    assert.ok(proxies.length >= 3, `at least the ingress and two client sidecars use the routes: ${proxies.map((p) => p.name).join(', ')}`);
    assert.ok(proxies.some((p) => p.name === ingress?.metadata.name), 'the ingress is among them');
    const rounds = 8;
    const delays: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const revision = `journey-revision-${round}`;
      const writtenAt = Date.now();
      for (const route of ['reviews', shop]) {
        const res = await box.admin.request('PATCH', `/apis/gateway.networking.k8s.io/v1/namespaces/${app}/httproutes/${route}`,
          { spec: { rules: revisedRules('reviews-v1', 9080, revision) } }, { contentType: 'application/merge-patch+json' });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
      for (const p of proxies) {
        const dump = await eventually(`${p.name} running ${revision}`, async () => {
          const d = await configDump(p.ip);
          return tableMentions(d, revision) ? d : undefined;
        }, 30_000, 100);
        delays.push(Date.parse(dump.appliedAt ?? '') - writtenAt);
      }
    }
    const p50 = percentile(delays, 50);
    const p99 = percentile(delays, 99);
    const max = Math.max(...delays);
    process.stdout.write(`# route change to ${proxies.length} proxies x ${rounds} changes: p50 ${p50} ms, p99 ${p99} ms, max ${max} ms\n`);
    assert.ok(delays.every(Number.isFinite), `every proxy reported when it applied the change: ${delays.join(', ')}`);
    assert.ok(p99 < 5000, `p99 ${p99} ms from write to applied (bound 5 s)`);
    // And the behaviour follows the table: a request from productpage carries the last revision.
    const [r] = await getFromPod(kubelet, app, await podOf(app, 'productpage'), `http://reviews.${app}.svc.cluster.local:9080/`);
    assert.ok(r);
    assert.deepEqual(echoOf(r).headers['X-Journey-Revision'], [`journey-revision-${rounds}`], JSON.stringify(echoOf(r).headers));
  }, 3 * 60_000);

  step('7e. killing the leader controller under steady traffic fails no request; the other replica takes the Lease and writes status', async () => {
    const { box, kubelet } = c();
    assert.ok(CONTROLLER_REPLICAS >= 2, 'a second replica to take over');
    const leaseOf = async (): Promise<{ holderIdentity?: string }> =>
      ((await box.admin.get(`/apis/coordination.k8s.io/v1/namespaces/${system}/leases/meshlet-controller`)).body as { spec?: { holderIdentity?: string } }).spec ?? {};
    const holder = (await leaseOf()).holderIdentity ?? '';
    const leader = (await listPods(box.admin, system, controllerSelector)).find((p) => holder.startsWith(p.metadata.name));
    assert.ok(leader, `the Lease holder ${holder} is a running controller pod`);
    const client = await podOf(app, 'productpage');
    const loadMs = 40_000;
    const load = loadFromPod(kubelet, app, client, `http://reviews.${app}.svc.cluster.local:9080/`, loadMs, 2, 50);
    await sleep(3000);
    // `kubectl delete pod --grace-period=0 --force`: SIGKILL at once, so the Lease is not
    // released; the survivor takes it once it expires. The proxies on the killed replica
    // reconnect to the survivor meanwhile.
    const killedAt = Date.now();
    const del = await box.admin.request('DELETE', `/api/v1/namespaces/${system}/pods/${leader.metadata.name}`, { gracePeriodSeconds: 0 });
    assert.ok(del.status === 200 || del.status === 202, JSON.stringify(del.body));
    const newHolder = await eventually('another replica holds the Lease', async () => {
      const h = (await leaseOf()).holderIdentity;
      return h && !h.startsWith(leader.metadata.name) ? h : undefined;
    }, 60_000, 250);
    const takeoverMs = Date.now() - killedAt;
    // The new leader writes status: a route created now is Accepted.
    const route = meshRoute(app, 'after-leader-kill', 'reviews-v1', 'reviews-v1', 9080);
    await create(box.admin, collectionOf(route), route);
    await routeEntry(app, 'after-leader-kill', ['Accepted', 'ResolvedRefs'], 60_000);
    const report = await load;
    process.stdout.write(`# leader ${leader.metadata.name} killed: ${newHolder} took the Lease after ${takeoverMs} ms; traffic ${report.total} requests, by status ${JSON.stringify(report.byStatus)}\n`);
    assert.ok(report.total > 20, `steady traffic: ${report.total} requests`);
    assert.deepEqual(report.failures, [], `no failed request while the leader was killed: ${JSON.stringify(report.byStatus)}`);
    // The Deployment replaces the killed replica.
    await readyPods(box.admin, system, controllerSelector, CONTROLLER_REPLICAS, 120_000);
  }, 4 * 60_000);
});
