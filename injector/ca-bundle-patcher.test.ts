import { test, describe, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient } from '../controller/provider/kubernetes/kube-client.ts';
import { caBundlePatcher, type WebhookConfigClient } from './ca-bundle-patcher.ts';
import { caBundleOf, webhookConfigPath, webhookConfiguration } from './webhook-config.ts';

// The controller's real client must fit the structural interface the patcher asks for.
const _fits: (c: KubeClient) => WebhookConfigClient = (c) => c;

interface Call { method: string; path: string; body?: unknown; contentType?: string }

/** An API server holding at most one MutatingWebhookConfiguration, applying JSON Patch ops. */
function fakeApi(initial: { webhooks: { name: string; clientConfig: { caBundle?: string } }[] } | null) {
  let mwc = initial === null ? null : structuredClone(initial);
  const calls: Call[] = [];
  let failNext: Error | null = null;
  const client: WebhookConfigClient = {
    request<T>(method: 'GET' | 'POST' | 'PATCH', path: string, opts: { body?: unknown; contentType?: string } = {}): Promise<T> {
      calls.push({ method, path, body: opts.body, contentType: opts.contentType });
      if (failNext) {
        const e = failNext;
        failNext = null;
        return Promise.reject(e);
      }
      if (method === 'GET') return mwc ? Promise.resolve(structuredClone(mwc) as T) : Promise.reject(Object.assign(new Error('not found'), { statusCode: 404 }));
      if (method === 'POST') {
        mwc = structuredClone(opts.body) as typeof mwc;
        return Promise.resolve(mwc as T);
      }
      for (const op of opts.body as { op: string; path: string; value: unknown }[]) {
        const [, , i, , key] = op.path.split('/');
        const w = mwc!.webhooks[Number(i)]!;
        if (op.op === 'test') assert.equal(w.name, op.value);
        else if (key === 'caBundle') w.clientConfig.caBundle = op.value as string;
      }
      return Promise.resolve(mwc as T);
    },
  };
  return { client, calls, current: () => mwc, fail: (e: Error) => { failNext = e; } };
}

const CA1 = '-----BEGIN CERTIFICATE-----\nONE\n-----END CERTIFICATE-----\n';
const CA2 = '-----BEGIN CERTIFICATE-----\nTWO\n-----END CERTIFICATE-----\n';

describe('caBundle patcher', () => {
  test('patches only stale caBundles, guarded by a test of each webhook name; then reports current', async () => {
    const api = fakeApi({ webhooks: [{ name: 'a.meshlet.dev', clientConfig: { caBundle: caBundleOf(CA1) } }, { name: 'b.meshlet.dev', clientConfig: {} }] });
    const p = caBundlePatcher({ client: api.client, getCaBundlePem: () => CA1 });
    assert.equal(await p.sync(), 'patched');
    const patch = api.calls.find((c) => c.method === 'PATCH')!;
    assert.equal(patch.path, webhookConfigPath('meshlet-injector'));
    assert.equal(patch.contentType, 'application/json-patch+json');
    assert.deepEqual(patch.body, [
      { op: 'test', path: '/webhooks/1/name', value: 'b.meshlet.dev' },
      { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: caBundleOf(CA1) },
    ]);
    assert.equal(await p.sync(), 'current');
    assert.equal(api.calls.filter((c) => c.method === 'PATCH').length, 1);
  });

  test('missing configuration: reported, or created from the template with the caBundle filled in', async () => {
    const api = fakeApi(null);
    assert.equal(await caBundlePatcher({ client: api.client, getCaBundlePem: () => CA1 }).sync(), 'missing');
    const p = caBundlePatcher({ client: api.client, getCaBundlePem: () => CA1, template: () => webhookConfiguration({ namespace: 'meshlet-system' }) });
    assert.equal(await p.sync(), 'created');
    const created = api.current() as unknown as { webhooks: { clientConfig: { caBundle: string } }[] };
    assert.equal(created.webhooks[0]!.clientConfig.caBundle, caBundleOf(CA1));
    assert.equal(await p.sync(), 'current');
  });

  test('runs at start and every interval, retries sooner after a failure, follows a CA rotation on notify(), stops', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const api = fakeApi({ webhooks: [{ name: 'a.meshlet.dev', clientConfig: {} }] });
      let ca = CA1;
      const logs: string[] = [];
      const p = caBundlePatcher({ client: api.client, getCaBundlePem: () => ca, intervalMs: 60_000, retryMs: 5_000, log: (l) => logs.push(l) });
      const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve(); };
      const gets = (): number => api.calls.filter((c) => c.method === 'GET').length;
      p.start();
      await settle();
      assert.equal(gets(), 1);
      assert.equal(api.current()!.webhooks[0]!.clientConfig.caBundle, caBundleOf(CA1));
      api.fail(new Error('apiserver unavailable'));
      mock.timers.tick(60_000);
      await settle();
      assert.equal(gets(), 2);
      assert.ok(logs.some((l) => /failed \(retry in 5000 ms\): apiserver unavailable/.test(l)));
      mock.timers.tick(5_000);
      await settle();
      assert.equal(gets(), 3, 'retried after retryMs, not a whole interval');
      ca = CA2;
      p.notify();
      mock.timers.tick(0);
      await settle();
      assert.equal(api.current()!.webhooks[0]!.clientConfig.caBundle, caBundleOf(CA2));
      await p.stop();
      mock.timers.tick(600_000);
      await settle();
      assert.equal(gets(), 4, 'nothing runs after stop()');
    } finally {
      mock.timers.reset();
    }
  });
});

test('MutatingWebhookConfiguration: selectors, policies and the service path', () => {
  const c = webhookConfiguration({ namespace: 'mesh', caBundlePem: CA1, failurePolicy: 'Ignore' }) as {
    metadata: { name: string };
    webhooks: Record<string, unknown>[];
  };
  assert.equal(c.metadata.name, 'meshlet-injector');
  const w = c.webhooks[0]!;
  assert.deepEqual(w.clientConfig, { service: { name: 'meshlet-controller', namespace: 'mesh', path: '/inject', port: 15017 }, caBundle: caBundleOf(CA1) });
  assert.deepEqual(w.namespaceSelector, {
    matchLabels: { 'meshlet.dev/inject': 'enabled' },
    matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-public', 'kube-node-lease', 'mesh'] }],
  });
  assert.deepEqual(w.objectSelector, { matchExpressions: [{ key: 'meshlet.dev/inject', operator: 'NotIn', values: ['false', 'disabled'] }] });
  assert.deepEqual([w.failurePolicy, w.sideEffects, w.timeoutSeconds, w.reinvocationPolicy, w.admissionReviewVersions], ['Ignore', 'None', 10, 'IfNeeded', ['v1']]);
  assert.deepEqual(w.rules, [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }]);
  assert.equal((webhookConfiguration({ namespace: 'm' }) as { webhooks: { failurePolicy: string }[] }).webhooks[0]!.failurePolicy, 'Fail');
});
