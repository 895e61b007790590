import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { createSecureContext } from 'node:tls';
import { defaultMeshConfig, type MeshConfig } from '../inject/index.ts';
import { parseReview, type AdmissionReview, type NamespaceMeta } from './admission.ts';
import { startWebhook, type Webhook, type WebhookOptions } from './server.ts';
import { podReview, postReview } from '../../test/support/injector-goldens.ts';
import { selfSignedCert } from '../../test/support/self-signed-cert.ts';

const SVC = 'meshlet-controller.meshlet-system.svc';
const cert = selfSignedCert([SVC]);
const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'x' }] } };
const open: Webhook[] = [];
after(async () => { await Promise.all(open.map((w) => w.close())); });

async function webhook(extra: Partial<WebhookOptions> = {}): Promise<Webhook> {
  const wh = await startWebhook({ port: 0, host: '127.0.0.1', tls: cert, meshConfig: defaultMeshConfig(), ...extra });
  open.push(wh);
  return wh;
}

const answer = (body: string): AdmissionReview['response'] => (JSON.parse(body) as AdmissionReview).response;

describe('parseReview', () => {
  for (const [name, body, re] of [
    ['not JSON', '{', /not JSON/],
    ['not an AdmissionReview', '{"kind":"Pod"}', /expected kind AdmissionReview/],
    ['v1beta1', '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1","request":{"uid":"u"}}', /expected apiVersion admission.k8s.io\/v1/],
    ['no uid', '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{}}', /request.uid is missing/],
  ] as const) {
    test(`refuses ${name}`, () => assert.throws(() => parseReview(body), (e: Error & { code?: string }) => e.code === 'E_ADMISSION_REVIEW_INVALID' && re.test(e.message)));
  }
});

describe('webhook server', () => {
  test('HTTP-level mistakes get 404, 405, 415, 413 and 400 with a reason, and the server keeps serving', async () => {
    const logs: string[] = [];
    const wh = await webhook({ maxBodyBytes: 4096, log: (l) => logs.push(l) });
    const valid = podReview('u1', pod, 'shop');
    assert.equal((await postReview(wh.port, cert.cert, valid, { path: '/mutate' })).status, 404);
    assert.equal((await postReview(wh.port, cert.cert, '', { method: 'GET' })).status, 405);
    const r415 = await postReview(wh.port, cert.cert, valid, { contentType: 'text/plain' });
    assert.equal(r415.status, 415);
    assert.match(r415.body, /application\/json/);
    const big = podReview('u2', { ...pod, metadata: { ...pod.metadata, annotations: { big: 'x'.repeat(5000) } } }, 'shop');
    assert.equal((await postReview(wh.port, cert.cert, big)).status, 413);
    const notJson = await postReview(wh.port, cert.cert, 'hello');
    assert.deepEqual([notJson.status, notJson.body.trim()], [400, 'the body is not JSON']);
    assert.ok(logs.some((l) => /not JSON/.test(l)));
    const ok = await postReview(wh.port, cert.cert, valid);
    assert.equal(ok.status, 200);
    assert.equal(answer(ok.body).allowed, true);
    assert.deepEqual(wh.stats(), { injected: 1, unchanged: 0, denied: 0, rejected: 5, errors: 0 });
  });

  test('a chunked body (no Content-Length) is cut off at the limit too', async () => {
    const wh = await webhook({ maxBodyBytes: 4096 });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: wh.port, path: '/inject', method: 'POST', ca: cert.cert, servername: SVC, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write('x'.repeat(1024));
      req.end();
    });
    assert.equal(status, 413);
  });

  test('a malformed pod is denied with a reason, not a crash; other requests pass untouched', async () => {
    const wh = await webhook();
    const bad = answer((await postReview(wh.port, cert.cert, podReview('u3', { spec: {} }, 'shop'))).body);
    assert.equal(bad.allowed, false);
    assert.match(bad.status!.message, /spec.containers must hold at least one container/);
    const update = JSON.parse(podReview('u4', pod, 'shop')) as { request: { operation: string } };
    update.request.operation = 'UPDATE';
    const r = answer((await postReview(wh.port, cert.cert, JSON.stringify(update))).body);
    assert.deepEqual(r, { uid: 'u4', allowed: true });
    assert.deepEqual(wh.stats(), { injected: 0, unchanged: 1, denied: 1, rejected: 0, errors: 0 });
  });

  test('a namespace without the label gets a warning and no patch; a failing or slow lookup falls back to the selector', async () => {
    const logs: string[] = [];
    const labels: Record<string, () => Promise<NamespaceMeta | undefined>> = {
      plain: () => Promise.resolve({ labels: {} }),
      broken: () => Promise.reject(new Error('apiserver down')),
      slow: () => new Promise(() => {}),
      meshed: () => Promise.resolve({ labels: { 'meshlet.dev/inject': 'enabled' } }),
    };
    const wh = await webhook({ getNamespace: (ns) => labels[ns]!(), namespaceTimeoutMs: 20, log: (l) => logs.push(l) });
    const plain = answer((await postReview(wh.port, cert.cert, podReview('a', pod, 'plain'))).body);
    assert.equal(plain.patch, undefined);
    assert.deepEqual(plain.warnings, ['meshlet: not injected: namespace plain is not labelled meshlet.dev/inject=enabled']);
    for (const ns of ['broken', 'slow', 'meshed']) {
      const r = answer((await postReview(wh.port, cert.cert, podReview(ns, pod, ns))).body);
      assert.equal(r.patchType, 'JSONPatch', ns);
    }
    assert.ok(logs.some((l) => /namespace broken: lookup failed \(apiserver down\)/.test(l)));
    assert.ok(logs.some((l) => /namespace slow: labels unknown/.test(l)));
  });

  test('the namespace\'s annotations reach injection: a STRICT namespace\'s pod gets a STRICT proxy', async () => {
    const wh = await webhook({ getNamespace: () => Promise.resolve({ labels: { 'meshlet.dev/inject': 'enabled' }, annotations: { 'meshlet.dev/mtls-mode': 'STRICT' } }) });
    const r = answer((await postReview(wh.port, cert.cert, podReview('s1', pod, 'strict'))).body);
    const patch = JSON.parse(Buffer.from(r.patch!, 'base64').toString()) as { value?: unknown }[];
    const env = JSON.stringify(patch);
    assert.match(env, /"name":"MESHLET_MTLS_MODE","value":"STRICT"/);
  });

  test('an unexpected failure is a 500, so the API server applies the failurePolicy', async () => {
    const logs: string[] = [];
    const wh = await webhook({ meshConfig: {} as MeshConfig, log: (l) => logs.push(l) });
    const r = await postReview(wh.port, cert.cert, podReview('u5', pod, 'shop'));
    assert.equal(r.status, 500);
    assert.match(r.body, /failurePolicy/);
    assert.ok(logs.some((l) => l.startsWith('internal error answering POST /inject')));
    assert.equal(wh.stats().errors, 1);
  });

  test('certificates: rotation with setCertificate, and a per-SNI lookup', async () => {
    const wh = await webhook();
    const next = selfSignedCert([SVC]);
    await assert.rejects(postReview(wh.port, next.cert, podReview('r0', pod, 'shop')), /self.signed|unable to verify|certificate/i);
    wh.setCertificate(next.cert, next.key);
    assert.equal((await postReview(wh.port, next.cert, podReview('r1', pod, 'shop'))).status, 200);
    const names: string[] = [];
    const sni = await webhook({ tls: { getSecureContext: (name) => { names.push(name); return createSecureContext(cert); } } });
    assert.equal((await postReview(sni.port, cert.cert, podReview('r2', pod, 'shop'))).status, 200);
    assert.deepEqual(names, [SVC]);
  });
});
