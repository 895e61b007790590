// The user journey on the cluster in a box (issue 13): what a user does with meshlet, on a real
// kube-apiserver whose admission chain calls meshlet's webhook, whose CRD schemas validate the
// Gateway API objects and whose RBAC authorizer enforces the chart's roles. Each step is one
// assertion a user would make; steps build on each other, so a failed step fails the rest.
// Component and pod logs are kept on failure (the path is printed by the box's stop()).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { eventually, installGatewayApiCrds } from './box/index.ts';
import { condition, create, describePod, listPods, readyPods, startJourneyCluster, type Condition, type JourneyCluster, type PodObj } from './journey/cluster.ts';
import { helm } from './journey/helm.ts';
import { meshlet } from './journey/meshlet-cli.ts';
import { clientDeployment, collectionOf, echoDeployment, meshRoute, service, serviceAccount } from './journey/workloads.ts';

const system = 'meshlet-system';
/** The user's injected namespace: labelled before `meshlet check`, so its webhook check is real. */
const app = 'journey';
/** A namespace without the label: its pods are the cluster's business, not the mesh's. */
const plain = 'journey-plain';
const controllerSelector = 'app.kubernetes.io/component=controller';
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
    const out = await helm(box.kubeconfigPath, ['install', 'meshlet', 'charts/meshlet', '--namespace', system, '--create-namespace']);
    assert.match(out.stdout, /STATUS: deployed/, out.stdout);
  }, 5 * 60_000);

  step("1b. the controller replicas run Ready under the chart's ServiceAccount, and one holds the Lease", async () => {
    const { box } = c();
    const controllers = await readyPods(box.admin, system, controllerSelector, 2, 120_000);
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
    try {
      await eventually('no controller pods', async () => ((await listPods(box.admin, system, controllerSelector)).length === 0 ? true : undefined), 60_000);
      await create(box.admin, '/api/v1/namespaces', { metadata: { name: plain } });
      const o = echoDeployment(plain, 'web', { app: 'web' });
      await create(box.admin, collectionOf(o), o);
      const [pod] = await readyPods(box.admin, plain, 'app=web', 1, 60_000);
      assert.ok(pod && !injected(pod), `not injected: ${pod ? describePod(pod) : ''}`);
      assert.equal(pod.spec.initContainers, undefined);
    } finally {
      await scale(2);
    }
    await readyPods(box.admin, system, controllerSelector, 2, 120_000);
  }, 4 * 60_000);
});
