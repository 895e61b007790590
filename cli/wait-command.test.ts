import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

/** An admin port stand-in answering the statuses in turn (the last one repeats). */
async function admin(statuses: number[]): Promise<{ url: string; asked: () => number }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    res.writeHead(statuses[Math.min(n++, statuses.length - 1)]!).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/ready`, asked: () => n };
}

async function wait(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(['wait', ...args], io);
  return { code, out: io.out(), err: io.err() };
}

test('returns 0 once the agent answers 200, polling through 503s', async () => {
  const a = await admin([503, 503, 200]);
  const r = await wait('--url', a.url, '--interval', '0.01', '--timeout', '30');
  assert.equal(r.code, 0, r.err);
  assert.equal(a.asked(), 3);
  assert.match(r.out, new RegExp(`^meshlet wait: ${a.url} ready after \\d+ ms \\(3 attempts\\)\\n$`));
});

test('exits 1 after the timeout, saying what the agent last answered', async () => {
  const a = await admin([503]);
  const r = await wait('--url', a.url, '--interval', '0.01', '--timeout', '0.2');
  assert.equal(r.code, 1);
  assert.ok(a.asked() >= 2, `asked ${a.asked()} times`);
  assert.equal(r.err, `meshlet wait: ${a.url} not ready after 0.2 s (last: HTTP 503)\n`);
});

test('exits 1 when nothing listens, naming the refusal', async () => {
  const a = await admin([200]);
  const url = a.url;
  await new Promise<void>((r) => servers.pop()!.close(() => r()));
  const r = await wait('--url', url, '--interval', '0.01', '--timeout', '0.1');
  assert.equal(r.code, 1);
  assert.match(r.err, /not ready after 0\.1 s \(last: connect ECONNREFUSED 127\.0\.0\.1:\d+\)\n$/);
});

test('--timeout 0 still makes one attempt', async () => {
  const a = await admin([200]);
  assert.equal((await wait('--url', a.url, '--timeout', '0')).code, 0);
  assert.equal(a.asked(), 1);
});

test('bad flags are usage errors', async () => {
  for (const [args, message] of [
    [['--timeout', 'soon'], /--timeout wants a number of seconds, got 'soon'/],
    [['--interval=-1'], /--interval wants a number of seconds/],
    [['--url', 'https://127.0.0.1:15020/ready'], /--url wants an http:\/\/ URL/],
    [['--url', 'not a url'], /--url wants a URL/],
    [['--bogus'], /Unknown option '--bogus'/],
  ] as const) {
    const r = await wait(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.err, message);
  }
});
