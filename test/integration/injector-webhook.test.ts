// The webhook over real HTTPS, as the API server calls it: every golden case's pods are sent as
// AdmissionReview v1 requests, the returned JSON Patch is applied, and the result must equal the
// pod in the case's .out.yaml (the same file `meshlet inject` is checked against). Warnings and
// denials must say what the CLI says on stderr. Then 200 reviews at once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { startWebhook, type AdmissionReview, type MeshConfig, type Webhook } from '../../injector/index.ts';
import { injectorCases, parseGolden, podReview, podsOf, postReview } from '../support/injector-goldens.ts';
import { selfSignedCert } from '../support/self-signed-cert.ts';

const cert = selfSignedCert(['meshlet-controller.meshlet-system.svc']);

async function withWebhook<T>(mesh: MeshConfig, fn: (wh: Webhook) => Promise<T>): Promise<T> {
  const wh = await startWebhook({ port: 0, host: '127.0.0.1', tls: cert, meshConfig: mesh });
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

async function review(wh: Webhook, uid: string, pod: unknown, namespace: string): Promise<AdmissionReview['response']> {
  const res = await postReview(wh.port, cert.cert, podReview(uid, pod, namespace));
  assert.equal(res.status, 200, res.body);
  const answer = JSON.parse(res.body) as AdmissionReview;
  assert.equal(answer.apiVersion, 'admission.k8s.io/v1');
  assert.equal(answer.kind, 'AdmissionReview');
  assert.equal(answer.response.uid, uid, 'the uid is echoed');
  return answer.response;
}

describe('webhook answers match the injector goldens', () => {
  for (const c of injectorCases()) {
    test(c.name, async () => {
      const golden = parseGolden(readFileSync(c.outFile, 'utf8'));
      const inputs = podsOf(readFileSync(c.inFile, 'utf8'));
      const outputs = golden.exit === 0 ? podsOf(golden.stdout) : [];
      await withWebhook(c.mesh, async (wh) => {
        for (const [i, { where, pod, namespace }] of inputs.entries()) {
          const r = await review(wh, `uid-${c.name}-${i}`, pod, namespace);
          const mine = golden.stderr.filter((l) => l.startsWith(`${where} (`) || l.startsWith(`error: ${where} (`));
          if (golden.exit !== 0) {
            assert.equal(r.allowed, false, `${where} is denied`);
            assert.equal(r.status?.code, 400);
            const expected = mine.find((l) => l.startsWith('error: '));
            assert.ok(expected, `${where}: the golden has an error for it`);
            assert.ok(r.status.message.endsWith(expected.slice(expected.indexOf('): ') + 3)), `${r.status.message} vs ${expected}`);
            continue;
          }
          assert.equal(r.allowed, true);
          const patch = r.patch ? JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as Operation[] : [];
          if (patch.length > 0) assert.equal(r.patchType, 'JSONPatch');
          const patched = jsonpatch.applyPatch(structuredClone(pod), patch, true, false).newDocument;
          assert.deepEqual(patched, outputs[i]!.pod, `${where}: patched pod equals the golden output`);
          const warnings = mine.filter((l) => l.includes(': warning: ')).map((l) => `meshlet: ${l.slice(l.indexOf(': warning: ') + 11)}`);
          assert.deepEqual(r.warnings ?? [], warnings, `${where}: warnings`);
        }
      });
    });
  }
});

test('200 concurrent reviews are all answered, each with its own uid and patch, within the 10 s timeout', async () => {
  const probes = injectorCases().find((c) => c.name === 'probes')!;
  const { pod, namespace } = podsOf(readFileSync(probes.inFile, 'utf8'))[0]!;
  await withWebhook(probes.mesh, async (wh) => {
    // postReview() gives up on a request after 10 s (the webhook's timeoutSeconds).
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => review(wh, `concurrent-${i}`, pod, namespace)));
    const patches = new Set(answers.map((a) => a.patch));
    assert.equal(patches.size, 1, 'every review of the same pod gets the same patch');
    assert.ok(answers.every((a) => a.allowed && a.patch !== undefined));
  });
});
