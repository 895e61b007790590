import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { validateIdentityMessage, type CertificateErrorMessage, type CertificateMessage } from '../../api/identity.ts';
import { startFakeApiServer, type FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';
import { loadCa } from './ca.ts';
import { CsrAuthorizer, type CsrAuthorizerOptions } from './csr-authorizer.ts';
import { generateRoot } from './root.ts';
import { makeCsr, withTokenReviews, type TokenReviewAnswer } from './test-support.ts';

const NOW = new Date('2026-12-02T12:00:00Z');
const ca = loadCa(generateRoot({ now: NOW, trustDomain: 'cluster.local' }), NOW);
let api: FakeApiServer;

const REVIEWS: Record<string, TokenReviewAnswer> = {
  'tok-cart': { username: 'system:serviceaccount:shop:cart', pod: 'cart-0' },
  'tok-gone': { username: 'system:serviceaccount:shop:cart', pod: 'cart-9', uid: 'uid-cart-9' },
  'tok-old-uid': { username: 'system:serviceaccount:shop:cart', pod: 'cart-0', uid: 'uid-of-a-previous-cart-0' },
  'tok-wrong-aud': { username: 'system:serviceaccount:shop:cart', pod: 'cart-0', audiences: ['https://kubernetes.default.svc'] },
  'tok-no-aud': { username: 'system:serviceaccount:shop:cart', pod: 'cart-0', audiences: [] },
  'tok-user': { username: 'alice' },
  'tok-unbound': { username: 'system:serviceaccount:shop:cart' },
  'tok-other-sa': { username: 'system:serviceaccount:shop:admin', pod: 'cart-0' },
};

/** The controller's client against the fake apiserver, plus the TokenReview endpoint it lacks. */
function client(reviewDown = false): ReturnType<typeof withTokenReviews> {
  return withTokenReviews(kubeClientFor(api), REVIEWS, () => reviewDown);
}

function authorizer(o: Partial<CsrAuthorizerOptions> = {}): CsrAuthorizer {
  return new CsrAuthorizer({ client: client(), ca: () => ca, trustDomain: 'cluster.local', now: () => NOW, ...o });
}

before(async () => {
  api = await startFakeApiServer({
    gatewayApi: false,
    objects: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cart-0', namespace: 'shop' }, spec: { serviceAccountName: 'cart' } }],
  });
  // The apiserver gives the pod its uid; bound tokens carry it.
  const uid = api.get('v1', 'Pod', 'cart-0', 'shop')!.metadata.uid!;
  for (const t of ['tok-cart', 'tok-other-sa']) REVIEWS[t]!.uid = uid;
});
after(() => api.close());

async function refused(a: CsrAuthorizer, token: string, podName?: string): Promise<CertificateErrorMessage> {
  const out = await a.answer({ type: 'csr', id: 7, csrPem: makeCsr().csrPem, token }, podName);
  assert.equal(out.type, 'certificate-error', 'no certificate');
  assert.deepEqual(validateIdentityMessage(out), []);
  return out;
}

describe('CsrAuthorizer', () => {
  test('a CSR asking for another identity still gets only the token identity', async () => {
    const c = client();
    const a = new CsrAuthorizer({ client: c, ca: () => ca, trustDomain: 'cluster.local', now: () => NOW });
    const { csrPem } = makeCsr({ commonName: 'admin', uris: ['spiffe://cluster.local/ns/kube-system/sa/admin'], dns: ['kubernetes.default.svc'] });
    const out = await a.answer({ type: 'csr', id: 1, csrPem, token: 'tok-cart' }, 'cart-0') as CertificateMessage;
    assert.equal(out.type, 'certificate');
    assert.deepEqual(validateIdentityMessage(out), []);
    assert.equal(new X509Certificate(out.chainPem[0]!).subjectAltName, 'URI:spiffe://cluster.local/ns/shop/sa/cart');
    assert.equal(out.notAfter, '2026-12-03T12:00:00.000Z');
    assert.deepEqual(out.rootsPem, ca.rootsPem);
    assert.deepEqual((c.reviews[0] as { spec: unknown }).spec, { token: 'tok-cart', audiences: ['meshlet-ca'] });
  });

  test('the trust domain comes from configuration', async () => {
    const got = await authorizer({ trustDomain: 'prod.example' }).authorize({ csrPem: makeCsr().csrPem, token: 'tok-cart' });
    assert.equal(got.spiffeId, 'spiffe://prod.example/ns/shop/sa/cart');
  });

  const refusals: [string, string, string | undefined, string, RegExp][] = [
    ['a token for a deleted pod', 'tok-gone', undefined, 'E_CSR_POD_NOT_FOUND', /bound to pod shop\/cart-9, which no longer exists/],
    ['a token of an earlier pod with the same name', 'tok-old-uid', undefined, 'E_CSR_POD_NOT_FOUND', /uid uid-of-a-previous-cart-0, which no longer exists \(that name now has uid [0-9a-f-]{36}\)/],
    ['an unknown token', 'forged', undefined, 'E_CSR_UNAUTHENTICATED', /not accepted: invalid bearer token/],
    ['a token for another audience', 'tok-wrong-aud', undefined, 'E_CSR_UNAUTHENTICATED', /not for audience 'meshlet-ca' \(reviewed audiences: https:\/\/kubernetes.default.svc\)/],
    ['an apiserver that is not audience-aware', 'tok-no-aud', undefined, 'E_CSR_UNAUTHENTICATED', /reviewed audiences: none/],
    ['a user token', 'tok-user', undefined, 'E_CSR_UNAUTHENTICATED', /not a ServiceAccount's \(alice\)/],
    ['a token bound to no pod', 'tok-unbound', undefined, 'E_CSR_UNAUTHENTICATED', /not bound to a pod/],
    ['a pod claiming another pod token', 'tok-cart', 'cart-1', 'E_CSR_UNAUTHENTICATED', /bound to pod shop\/cart-0, not the claimed cart-1/],
    ['a token whose ServiceAccount the pod does not run as', 'tok-other-sa', undefined, 'E_CSR_UNAUTHENTICATED', /runs as ServiceAccount cart, not the token's admin/],
  ];
  for (const [name, token, pod, code, why] of refusals) {
    test(`refuses ${name}, for good`, async () => {
      const out = await refused(authorizer(), token, pod);
      assert.equal(out.code, code);
      assert.equal(out.retryable, false);
      assert.match(out.message, why);
    });
  }

  test('TokenReview errors answer "try later", never a certificate', async () => {
    const lines: string[] = [];
    const out = await refused(authorizer({ client: client(true), log: (l) => lines.push(l) }), 'tok-cart', 'cart-0');
    assert.deepEqual([out.code, out.retryable], ['E_CSR_REVIEW_UNAVAILABLE', true]);
    assert.match(out.message, /could not be reviewed: .*503/);
    assert.match(lines[0]!, /refused a CSR from pod cart-0: E_CSR_REVIEW_UNAVAILABLE/);
  });

  test('a TokenReview the apiserver answers with 500, or not within the timeout, is "try later" with the reason logged', async () => {
    // The real client against the fake apiserver: the failure is on the wire, not a stand-in.
    const lines: string[] = [];
    const direct = new CsrAuthorizer({ client: kubeClientFor(api), ca: () => ca, trustDomain: 'cluster.local', now: () => NOW, timeoutMs: 300, log: (l) => lines.push(l) });
    api.injectFailure({ method: 'POST', path: '/tokenreviews', code: 500 });
    const err500 = await refused(direct, 'tok-cart', 'cart-0');
    assert.deepEqual([err500.code, err500.retryable], ['E_CSR_REVIEW_UNAVAILABLE', true]);
    assert.match(err500.message, /could not be reviewed: .*500/);
    api.injectFailure({ method: 'POST', path: '/tokenreviews', delayMs: 3000 });
    const started = Date.now();
    const slow = await refused(direct, 'tok-cart', 'cart-0');
    assert.deepEqual([slow.code, slow.retryable], ['E_CSR_REVIEW_UNAVAILABLE', true]);
    assert.ok(Date.now() - started < 1500, 'answered at the 300 ms timeout, not when the apiserver got round to it');
    assert.equal(lines.length, 2);
    for (const l of lines) assert.match(l, /refused a CSR from pod cart-0: E_CSR_REVIEW_UNAVAILABLE/);
  });

  test('a pod lookup the apiserver fails is "try later" too', async () => {
    api.injectFailure({ method: 'GET', path: '/pods/cart-0', code: 500 });
    const out = await refused(authorizer(), 'tok-cart');
    assert.deepEqual([out.code, out.retryable], ['E_CSR_REVIEW_UNAVAILABLE', true]);
  });

  test('no CA yet: E_CA_UNAVAILABLE, retryable; a bad CSR: E_CSR_INVALID, final', async () => {
    const none = await refused(authorizer({ ca: () => null }), 'tok-cart');
    assert.deepEqual([none.code, none.retryable], ['E_CA_UNAVAILABLE', true]);
    const bad = await authorizer().answer({ type: 'csr', id: 3, csrPem: 'garbage', token: 'tok-cart' });
    assert.deepEqual(bad.type === 'certificate-error' && [bad.id, bad.code, bad.retryable], [3, 'E_CSR_INVALID', false]);
  });
});
