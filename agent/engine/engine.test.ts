import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { distinctHeaders, parseTarget } from './downstream.ts';
import { stripHopByHop } from './hop-by-hop.ts';
import { bufferUpTo } from './request-body.ts';
import { RetryBudget, RetryBudgets } from './retry-budget.ts';

describe('hop-by-hop headers', () => {
  test('removes RFC 9110 hop-by-hop headers and those named by Connection', () => {
    const out = stripHopByHop({
      connection: 'keep-alive, X-Private', 'keep-alive': 'timeout=5', 'x-private': '1', 'transfer-encoding': 'chunked',
      upgrade: 'h2c', te: 'trailers', 'proxy-authorization': 'x', 'x-kept': 'yes', ':path': '/',
    });
    assert.deepEqual(out, { 'x-kept': 'yes' });
  });
  test('keeps te: trailers when asked (gRPC)', () => {
    assert.deepEqual(stripHopByHop({ te: 'gzip, trailers' }, { keepTeTrailers: true }), { te: 'trailers' });
    assert.deepEqual(stripHopByHop({ te: 'gzip' }, { keepTeTrailers: true }), {});
  });
});

describe('request targets', () => {
  test('origin-form and absolute-form', () => {
    assert.deepEqual(parseTarget('/a/b?c=d'), { authority: null, path: '/a/b', query: 'c=d' });
    assert.deepEqual(parseTarget('http://svc.ns:8080/x?y'), { authority: 'svc.ns:8080', path: '/x', query: 'y' });
    assert.deepEqual(parseTarget('http://user@svc'), { authority: 'svc', path: '/', query: '' });
  });
});

describe('retry budget', () => {
  test('allows ratio x requests plus the per-second floor within the window', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000, now: () => now });
    for (let i = 0; i < 100; i++) budget.request();
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (budget.tryRetry()) allowed++;
    assert.equal(allowed, 30);
    now = 20_000;
    assert.equal(budget.tryRetry(), true, 'old retries aged out of the window');
  });

  test('refusals are counted per group; groups never refused are not listed', () => {
    const budgets = new RetryBudgets({ ratio: 0, minPerSecond: 0.2, windowMs: 10_000, now: () => 0 });
    const a = budgets.for('rule/a');
    budgets.for('rule/b').tryRetry();
    const got = Array.from({ length: 5 }, () => a.tryRetry());
    assert.deepEqual(got, [true, true, false, false, false], '0.2/s over 10 s: two retries');
    assert.deepEqual(budgets.exhaustion(), [{ route: 'rule/a', count: 3 }]);
  });

  test('default routes have a budget per backend, and their refusals are listed once, under the empty route', () => {
    const budgets = new RetryBudgets({ ratio: 0, minPerSecond: 0.1, windowMs: 10_000, now: () => 0 });
    assert.equal(budgets.forDefaultRetry('rule/a', 'service/n/a/80'), budgets.for('rule/a'), 'a rule\'s default retry draws from the rule\'s budget');
    for (const backend of ['service/n/a/80', 'service/n/b/80']) {
      const got = Array.from({ length: 3 }, () => budgets.forDefaultRetry(null, backend).tryRetry());
      assert.deepEqual(got, [true, false, false], `${backend}: one retry of its own`);
    }
    assert.deepEqual(budgets.exhaustion(), [{ route: '', count: 4 }]);
  });
});

describe('request bodies for retries', () => {
  test('a body within the bound is buffered whole', async () => {
    const r = await bufferUpTo(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 10);
    assert.equal(r.kind, 'buffered');
    assert.equal(r.kind === 'buffered' && r.data.toString(), 'abcd');
  });
  test('a larger body becomes a one-shot stream with nothing lost', async () => {
    const r = await bufferUpTo(Readable.from([Buffer.from('abc'), Buffer.from('def'), Buffer.from('ghi')]), 4);
    assert.equal(r.kind, 'stream');
    const chunks: Buffer[] = [];
    if (r.kind === 'stream') for await (const c of r.stream) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'abcdefghi');
  });
});

describe('distinctHeaders: repeated header lines survive a hop', () => {
  test('repeated lines stay separate values, in order', () => {
    assert.deepEqual(distinctHeaders(['X-A', '1', 'x-a', '2', 'X-B', 'b']), { 'x-a': ['1', '2'], 'x-b': 'b' });
  });
  test('headers Node keeps once keep their first value (a second Host cannot smuggle a target)', () => {
    assert.deepEqual(distinctHeaders(['Host', 'a.example', 'host', 'b.example']), { host: 'a.example' });
  });
  test('cookies split by HTTP/2 are joined with "; " into one line', () => {
    assert.deepEqual(distinctHeaders(['cookie', 'a=1', 'cookie', 'b=2']), { cookie: 'a=1; b=2' });
  });
  test('fields named like Object.prototype\'s members are ordinary fields (the record keeps its prototype)', () => {
    const out = distinctHeaders(['Constructor', 'x', 'toString', 'y', '__proto__', 'z', 'hasOwnProperty', '1', 'hasownproperty', '2']);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.entries(out), [['constructor', 'x'], ['tostring', 'y'], ['__proto__', 'z'], ['hasownproperty', ['1', '2']]]);
  });
  test('names kept from the last head by position: a different name or case at a place is read afresh', () => {
    assert.deepEqual(distinctHeaders(['X-A', '1', 'User-Agent', 'u']), { 'x-a': '1', 'user-agent': 'u' });
    assert.deepEqual(distinctHeaders(['X-B', '1', 'USER-AGENT', 'u']), { 'x-b': '1', 'user-agent': 'u' });
    assert.deepEqual(distinctHeaders(['User-Agent', 'u', 'X-A', '1', 'x-a', '2']), { 'user-agent': 'u', 'x-a': ['1', '2'] });
    assert.deepEqual(distinctHeaders(['X-A', '1', 'User-Agent', 'u']), { 'x-a': '1', 'user-agent': 'u' });
  });
  test('a head of many fields (names kept in a set) reads as a short one does', () => {
    const raw: string[] = [];
    const want: Record<string, string | string[]> = {};
    for (let i = 0; i < 40; i++) raw.push(`X-F${i}`, `v${i}`);
    for (let i = 0; i < 40; i++) want[`x-f${i}`] = `v${i}`;
    raw.push('x-f3', 'again', 'Cookie', 'a=1', 'cookie', 'b=2', 'User-Agent', 'u1', 'user-agent', 'u2');
    want['x-f3'] = ['v3', 'again'];
    want.cookie = 'a=1; b=2';
    want['user-agent'] = 'u1';
    assert.deepEqual(distinctHeaders(raw), want);
    assert.deepEqual(distinctHeaders(raw.slice(0, 6).concat(raw.slice(80))), { 'x-f0': 'v0', 'x-f1': 'v1', 'x-f2': 'v2', 'x-f3': 'again', cookie: 'a=1; b=2', 'user-agent': 'u1' });
  });
});
