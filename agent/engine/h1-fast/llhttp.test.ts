// The llhttp wrapper's own contract: a parser closed from inside one of its callbacks (a handler
// giving up on the connection at a head it refuses) is freed once execute() returns, not under
// the native parser's feet, which crashes the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LlhttpParser } from './llhttp.ts';

const noBody = { onBody() { /* none */ }, onTrailers() { /* none */ } };

test('close() inside onHead, onBody and onComplete: execute returns, the process lives', () => {
  for (const at of ['head', 'body', 'complete'] as const) {
    const seen: string[] = [];
    const p: LlhttpParser = new LlhttpParser('request', {
      ...noBody,
      onHead() { seen.push('head'); if (at === 'head') p.close(); return 0; },
      onBody() { seen.push('body'); if (at === 'body') p.close(); },
      onComplete() { seen.push('complete'); if (at === 'complete') p.close(); },
    });
    const r = p.execute(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok', 'latin1'));
    assert.equal(r.kind, 'ok', at);
    assert.deepEqual(seen, ['head', 'body', 'complete'], at);
  }
});

test('close() inside finish()\'s completion of a read-until-close response', () => {
  let completed = 0;
  const p: LlhttpParser = new LlhttpParser('response', {
    ...noBody,
    onHead() { return 0; },
    onComplete() { completed++; p.close(); },
  });
  assert.equal(p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\nbody until close', 'latin1')).kind, 'ok');
  assert.equal(p.finish().kind, 'ok');
  assert.equal(completed, 1);
});

test('close() outside a callback frees the parser at once', () => {
  const p = new LlhttpParser('request', { ...noBody, onHead() { return 0; }, onComplete() { /* done */ } });
  assert.equal(p.execute(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1')).kind, 'ok');
  p.close();
});

test('completeAfter: a body of known length ends at its last byte without llhttp\'s message-complete callback; chunked, paused and later messages as before', async () => {
  const { createRequire } = await import('node:module');
  const K = (createRequire(import.meta.url)('node:_http_common') as { HTTPParser: { kOnMessageComplete: number } }).HTTPParser.kOnMessageComplete;
  const seen: string[] = [];
  let pauseNext = false;
  const p: LlhttpParser = new LlhttpParser('request', {
    onHead(_a, _b, fields, method, target) {
      seen.push(`head ${method} ${target}`);
      const cl = fields.findIndex((f, i) => i % 2 === 0 && f.toLowerCase() === 'content-length');
      const chunked = fields.some((f, i) => i % 2 === 0 && f.toLowerCase() === 'transfer-encoding');
      if (!chunked) p.completeAfter(cl < 0 ? 0 : Number(fields[cl + 1]));
      if (pauseNext) { pauseNext = false; return 21; }
      return 0;
    },
    onBody(piece) { seen.push(`body ${piece.toString('latin1')}`); },
    onTrailers(fields) { seen.push(`trailers ${fields.join('|')}`); },
    onComplete() { seen.push('complete'); },
  });
  const native = (p as unknown as { p: Record<number, unknown> }).p;
  // a GET (no body) and a POST whose body comes in two reads, pipelined
  assert.equal(p.execute(Buffer.from('GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab', 'latin1')).kind, 'ok');
  assert.equal(native[K], undefined, 'llhttp\'s callback is left unset while the end is counted');
  assert.deepEqual(seen.splice(0), ['head GET /a', 'complete', 'head POST /b', 'body ab']);
  assert.equal(p.execute(Buffer.from('cde', 'latin1')).kind, 'ok');
  assert.deepEqual(seen.splice(0), ['body cde', 'complete']);
  // chunked with trailers: llhttp reports the end (its callback set again), then counting resumes
  assert.equal(p.execute(Buffer.from('POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-Sum: 1\r\n\r\n', 'latin1')).kind, 'ok');
  assert.equal(typeof native[K], 'function');
  assert.deepEqual(seen.splice(0), ['head POST /c', 'body x', 'trailers X-Sum|1', 'complete']);
  // a head that pauses the parser: its end comes from llhttp once resumed, exactly once
  pauseNext = true;
  const r = p.execute(Buffer.from('POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nzz', 'latin1'));
  assert.equal(r.kind, 'paused');
  assert.equal(typeof native[K], 'function');
  p.resume();
  assert.equal(p.execute(Buffer.from('zz', 'latin1')).kind, 'ok');
  assert.equal(p.execute(Buffer.from('GET /e HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1')).kind, 'ok');
  assert.deepEqual(seen.splice(0), ['head POST /d', 'body zz', 'complete', 'head GET /e', 'complete']);
  p.close();
});
