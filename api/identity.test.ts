import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpiffeIdInvalidError, formatSpiffeId, isMeshletAlpn, isValidSpiffeId, parseSpiffeId, validateIdentityMessage } from './identity.ts';
import { spiffeId } from './names.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('SPIFFE IDs', () => {
  test('parse and format are inverse; format agrees with names.ts spiffeId()', () => {
    for (const s of ['spiffe://cluster.local/ns/shop/sa/cart', 'spiffe://td/ns/a/sa/b.c-d', 'spiffe://example.org/ns/0/sa/default']) {
      assert.equal(formatSpiffeId(parseSpiffeId(s)), s);
    }
    assert.deepEqual(parseSpiffeId('spiffe://cluster.local/ns/shop/sa/cart'), { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'cart' });
    assert.equal(formatSpiffeId({ trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'cart' }), spiffeId('shop', 'cart'));
  });

  const bad: [string, RegExp][] = [
    ['https://cluster.local/ns/a/sa/b', /must start with spiffe:\/\//],
    ['spiffe://cluster.local/ns/a/sa/b/extra', /exactly \/ns/],
    ['spiffe://cluster.local/ns/a/sa/b/', /exactly \/ns/],
    ['spiffe://cluster.local/ns/a/sa', /exactly \/ns/],
    ['spiffe://cluster.local/sa/b/ns/a', /exactly \/ns/],
    ['spiffe://cluster.local/ns/A/sa/b', /namespace 'A'/],
    ['spiffe://cluster.local/ns/a.b/sa/b', /namespace 'a.b'/],
    ['spiffe://cluster.local/ns/a/sa/B', /service account 'B'/],
    ['spiffe://cluster.local/ns/a/sa/b%2F', /service account/],
    ['spiffe://cluster.local/ns/a/sa/b?x=1', /service account/],
    ['spiffe://Cluster.Local/ns/a/sa/b', /trust domain/],
    ['spiffe://td:8080/ns/a/sa/b', /trust domain/],
    ['spiffe://user@td/ns/a/sa/b', /trust domain/],
    ['spiffe:///ns/a/sa/b', /trust domain/],
    ['spiffe://td/ns//sa/b', /namespace ''/],
    [`spiffe://td/ns/${'a'.repeat(64)}/sa/b`, /namespace/],
  ];
  for (const [s, why] of bad) {
    test(`refuses ${s.slice(0, 60)}`, () => {
      assert.equal(isValidSpiffeId(s), false);
      assert.throws(() => parseSpiffeId(s), (err: unknown) => err instanceof SpiffeIdInvalidError && err.code === 'E_SPIFFE_ID_INVALID' && why.test(err.message));
    });
  }

  test('format refuses parts that would not parse back', () => {
    assert.throws(() => formatSpiffeId({ trustDomain: 'td', namespace: 'a/sa/x', serviceAccount: 'b' }), SpiffeIdInvalidError);
  });
});

test('meshlet ALPN names are recognised, others are not', () => {
  assert.equal(isMeshletAlpn('meshlet/h2'), true);
  assert.equal(isMeshletAlpn('meshlet/http1.1'), true);
  assert.equal(isMeshletAlpn('meshlet/tcp'), true);
  for (const other of ['h2', 'http/1.1', 'istio-h2', '', false, undefined] as const) assert.equal(isMeshletAlpn(other), false);
});

describe('validateIdentityMessage', () => {
  const cases: [string, unknown, string[]][] = [
    ['a csr', { type: 'csr', id: 1, csrPem: 'x', token: 't' }, []],
    ['a certificate', { type: 'certificate', id: 1, chainPem: [PEM], rootsPem: [PEM], notAfter: '2026-12-03T00:00:00Z' }, []],
    ['a certificate error', { type: 'certificate-error', id: 2, code: 'E_CSR_POD_NOT_FOUND', message: 'gone', retryable: false }, []],
    ['a trust bundle push', { type: 'trust-bundle', id: 0, rootsPem: [PEM, PEM], renew: true }, []],
    ['a trust bundle without roots or renew flag', { type: 'trust-bundle', id: 0, rootsPem: [] }, ['rootsPem', 'renew']],
    ['a csr without token', { type: 'csr', id: 1, csrPem: 'x' }, ['token']],
    ['a csr with a negative id', { type: 'csr', id: -1, csrPem: 'x', token: 't' }, ['id']],
    ['an empty chain', { type: 'certificate', id: 1, chainPem: [], rootsPem: [PEM], notAfter: '2026-12-03T00:00:00Z' }, ['chainPem']],
    ['a non-PEM root and a bad time', { type: 'certificate', id: 1, chainPem: [PEM], rootsPem: ['nope'], notAfter: 'soon' }, ['rootsPem[0]', 'notAfter']],
    ['too long a chain', { type: 'certificate', id: 1, chainPem: Array(9).fill(PEM), rootsPem: [PEM], notAfter: '2026-12-03T00:00:00Z' }, ['chainPem']],
    ['an unknown error code', { type: 'certificate-error', id: 1, code: 'E_WHATEVER', message: 'm', retryable: 'yes' }, ['code', 'retryable']],
    ['an oversized token', { type: 'csr', id: 1, csrPem: 'x', token: 't'.repeat(64 * 1024 + 1) }, ['token']],
    ['another type', { type: 'hello', id: 1 }, ['type']],
    ['not an object', [1], ['']],
  ];
  for (const [name, msg, paths] of cases) {
    test(name, () => assert.deepEqual(validateIdentityMessage(msg).map((i) => i.path), paths));
  }
});
