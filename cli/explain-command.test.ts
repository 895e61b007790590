import { test } from 'node:test';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';

async function explain(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(['explain', '-f', 'examples', ...args], io);
  return { code, out: io.out(), err: io.err() };
}

test('a mesh call to reviews goes to reviews-v1 only (examples/03)', async () => {
  const { code, out } = await explain('GET http://reviews:9080/', '--from', 'default');
  assert.equal(code, 0);
  assert.match(out, /to 10\.96\.30\.30:9080 from namespace default/);
  assert.match(out, /100%\s+service\/default\/reviews-v1\/9080/);
});

test('the canary split shows each backend with its probability (examples/05)', async () => {
  const { out } = await explain('GET http://checkout.default.svc.cluster.local:8080/cart', '--from', 'default');
  assert.match(out, /80%\s+service\/default\/checkout-v1\/8080/);
  assert.match(out, /20%\s+service\/default\/checkout-v2\/8080/);
});

test('a header match wins and the explanation says which rules did not match', async () => {
  const { out } = await explain('GET http://checkout.default:8080/cart', '-H', 'x-canary: always', '--from', 'default');
  assert.match(out, /rule:\s+httproute\/default\/checkout\/rule\/0\/match\/0/);
  assert.match(out, /100%\s+service\/default\/checkout-v2\/8080/);
});

test('the gateway redirect of examples/01 answers 302 with the Location', async () => {
  const { out } = await explain('GET https://api.anyflow.net/', '--gateway', 'cluster/default-gateway');
  assert.match(out, /answer:\s+302/);
  assert.match(out, /location: https:\/\/api\.anyflow\.net\/__apispec\//);
});

test('a request no rule matches answers 404 and says so', async () => {
  const { out } = await explain('GET http://httpbin.example.com/status/200', '--gateway', 'istio-ingress/gateway');
  assert.match(out, /answer:\s+404/);
});

test('unknown services, gateways and ports are user errors that name what exists', async () => {
  assert.match((await explain('GET http://nope:80/', '--from', 'default')).err, /'nope' is not a Service/);
  assert.match((await explain('GET http://x.example.com:8081/', '--gateway', 'istio-ingress/gateway')).err, /no listener on port 8081 \(ports: 80\)/);
  const both = await explain('GET http://reviews:9080/', '--from', 'default', '--gateway', 'a/b');
  assert.equal(both.code, 1);
  assert.match(both.err, /exactly one of --gateway/);
});

test('identity and policy: the workload behind a backend, and whether its AuthorizationPolicy admits the caller', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-explain-'));
  try {
    cpSync('examples', dir, { recursive: true });
    // The Pod object says httpbin's pod is meshed and runs as ServiceAccount httpbin.
    writeFileSync(join(dir, '99-pods.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: httpbin-5c7d8-abcde, namespace: default, labels: {meshlet.dev/mesh: meshlet}}\nspec: {serviceAccountName: httpbin}\n');
    const run = async (...args: string[]) => {
      const io = captureIo();
      await main(['explain', '-f', dir, 'GET http://httpbin:8000/headers', ...args], io);
      return io.out();
    };
    const denied = await run('--from', 'default');
    assert.match(denied, /identity spiffe:\/\/cluster\.local\/ns\/default\/sa\/httpbin \(mTLS\)/);
    assert.match(denied, /policy: denied \(403\): no rule of authorizationpolicy\/default\/httpbin-ingress-only allows spiffe:\/\/cluster\.local\/ns\/default\/sa\/default/);
    assert.match(await run('--from', 'default', '--as', 'meshlet-system/meshlet-ingress'), /policy: allowed: allowed by authorizationpolicy\/default\/httpbin-ingress-only/);
    // Without the Pod object the endpoint is not known to be meshed: plaintext, and said so.
    const io = captureIo();
    await main(['explain', '-f', 'examples', 'GET http://reviews:9080/', '--from', 'default'], io);
    assert.match(io.out(), /not meshed \(plaintext/);
    const bad = captureIo();
    assert.equal(await main(['explain', '-f', 'examples', 'GET http://reviews:9080/', '--from', 'default', '--as', 'a/b/c'], bad), 1);
    assert.match(bad.err(), /--as wants SERVICEACCOUNT or NAMESPACE\/SERVICEACCOUNT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
