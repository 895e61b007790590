import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from './durations.ts';
import { RouteInvalidError } from './errors.ts';
import { parseRetry, parseTimeouts } from './timeouts.ts';

describe('GEP-2257 durations', () => {
  const valid: [string, number][] = [['0s', 0], ['1h', 3_600_000], ['1h30m30s500ms', 5_430_500], ['500ms', 500], ['00060m', 3_600_000], ['1s1s', 2_000], ['99999h', 99_999 * 3_600_000]];
  for (const [v, ms] of valid) test(`${v} is ${ms} ms`, () => assert.equal(parseDuration(v), ms));
  for (const v of ['', '1', '1.5s', '-1s', '1d', '100us', '123456s', '1h1h1h1h1h', ' 1s', 5]) test(`${JSON.stringify(v)} is rejected`, () => assert.equal(parseDuration(v), null));
});

describe('rule timeouts (GEP-1742)', () => {
  test('absent timeouts are null', () => assert.equal(parseTimeouts(undefined, 't'), null));
  test('request and backendRequest in milliseconds', () => assert.deepEqual(parseTimeouts({ request: '10s', backendRequest: '2s' }, 't'), { requestMs: 10_000, backendRequestMs: 2_000 }));
  test('only one of them', () => assert.deepEqual(parseTimeouts({ backendRequest: '250ms' }, 't'), { requestMs: null, backendRequestMs: 250 }));
  test('"0s" disables the timeout and stays 0', () => assert.deepEqual(parseTimeouts({ request: '0s' }, 't'), { requestMs: 0, backendRequestMs: null }));
  test('backendRequest longer than request is rejected', () => assert.throws(() => parseTimeouts({ request: '1s', backendRequest: '2s' }, 't'), RouteInvalidError));
  test('backendRequest "0s" (no per-attempt limit) under a finite request is allowed, as the CRD rule allows it', () => assert.deepEqual(parseTimeouts({ request: '1s', backendRequest: '0s' }, 't'), { requestMs: 1_000, backendRequestMs: 0 }));
  test('backendRequest equal to request is allowed', () => assert.deepEqual(parseTimeouts({ request: '1s', backendRequest: '1000ms' }, 't'), { requestMs: 1_000, backendRequestMs: 1_000 }));
  test('any backendRequest is fine when request is disabled', () => assert.deepEqual(parseTimeouts({ request: '0s', backendRequest: '5s' }, 't'), { requestMs: 0, backendRequestMs: 5_000 }));
  test('a malformed duration names the field', () => {
    assert.throws(() => parseTimeouts({ request: '1.5s' }, 'spec.rules[0].timeouts'), (e: RouteInvalidError) => e.reason === 'UnsupportedValue' && e.message.includes('spec.rules[0].timeouts.request'));
  });
});

describe('rule retry (GEP-1731)', () => {
  test('absent retry is null', () => assert.equal(parseRetry(undefined, 'r'), null));
  test('codes sorted and de-duplicated, attempts, backoff', () => assert.deepEqual(parseRetry({ codes: [503, 500, 503], attempts: 3, backoff: '100ms' }, 'r'), { codes: [500, 503], attempts: 3, backoffMs: 100 }));
  test('attempts default to one, backoff to the data plane default', () => assert.deepEqual(parseRetry({}, 'r'), { codes: [], attempts: 1, backoffMs: null }));
  test('a code outside 400..599 is rejected', () => assert.throws(() => parseRetry({ codes: [200] }, 'r'), RouteInvalidError));
  test('negative attempts are rejected', () => assert.throws(() => parseRetry({ attempts: -1 }, 'r'), RouteInvalidError));
  test('a malformed backoff is rejected', () => assert.throws(() => parseRetry({ backoff: '1m30' }, 'r'), RouteInvalidError));
});
