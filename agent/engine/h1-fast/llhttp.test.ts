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
