// `meshlet explain --from NS` for an IP address that is no Service: the outbound decision a
// sidecar takes, by the cluster networks (default or --cluster-networks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';

async function explain(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(['explain', '-f', 'examples', ...args], io);
  return { code, out: io.out(), err: io.err() };
}

test('an address outside the cluster networks: passthrough at once, never asked about', async () => {
  for (const [url, where] of [['http://203.0.113.5:443/', '203.0.113.5:443'], ['https://[2001:db8::1]/x', '[2001:db8::1]:443'], ['http://127.0.0.1:8080/', '127.0.0.1:8080']] as const) {
    const { code, out } = await explain(`GET ${url}`, '--from', 'default');
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`request:  GET .*to ${where.replace(/[[\].]/g, '\\$&')} from namespace default: not a Service in the input`));
    assert.match(out, /outbound: outside the cluster networks \(10\.0\.0\.0\/8,100\.64\.0\.0\/10,172\.16\.0\.0\/12,192\.168\.0\.0\/16,fd00::\/8\): passthrough .* never asked about/);
  }
});

test('an address inside them: asked first, refused with 503 while unanswered; --cluster-networks moves the line', async () => {
  const inside = await explain('GET http://10.1.2.3/', '--from', 'default');
  assert.equal(inside.code, 0);
  assert.match(inside.out, /outbound: inside the cluster networks .*asks the controller about 10\.1\.2\.3:80/);
  assert.match(inside.out, /no answer within 3 s: refused \(503, TCP closed\)/);
  const moved = await explain('GET http://10.1.2.3/', '--from', 'default', '--cluster-networks', '192.168.0.0/16');
  assert.match(moved.out, /outbound: outside the cluster networks \(192\.168\.0\.0\/16\): passthrough to 10\.1\.2\.3:80/);
  const publicRange = await explain('GET http://203.0.113.5/', '--from', 'default', '--cluster-networks', '203.0.113.0/24,10.0.0.0/8');
  assert.match(publicRange.out, /outbound: inside the cluster networks \(203\.0\.113\.0\/24,10\.0\.0\.0\/8\)/);
});

test('a Service ClusterIP is still explained by its routes; a bad range is a usage error', async () => {
  const svc = await explain('GET http://10.96.30.30:9080/', '--from', 'default');
  assert.equal(svc.code, 0);
  assert.match(svc.out, /100%\s+service\/default\/reviews-v1\/9080/);
  assert.doesNotMatch(svc.out, /outbound:/);
  const bad = await explain('GET http://10.1.2.3/', '--from', 'default', '--cluster-networks', '10.0.0.0/33');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--cluster-networks: '10\.0\.0\.0\/33' is not a CIDR/);
});
