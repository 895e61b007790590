// Issue 16 / ADR 0012: feature-only modules are loaded only when the feature is on. A file-mode
// agent without the mesh CA and without an OTLP endpoint must not load OpenTelemetry, node-forge,
// the controller channel (ws) or undici beyond its Pool; given an endpoint, it loads OpenTelemetry (synchronously in
// startTelemetry, before the listeners open and so before a privilege drop). The real binary
// runs with a hook recording every module resolved.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/free-port.ts';
import { startEchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';

const bin = fileURLToPath(new URL('../../bin/meshlet.js', import.meta.url));
const examples = fileURLToPath(new URL('../../examples/', import.meta.url));

// Records resolved modules (ES and CommonJS) and writes them out when the process exits.
const HOOK = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
const seen = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
// process.moduleLoadList names Node's own modules however they were loaded (getBuiltinModule too).
if (isMainThread) process.on('exit', () => writeFileSync(process.env.LOADS_FILE, [...seen, ...process.moduleLoadList.map((m) => 'builtin:' + m)].join('\\n')));
`;

function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/ready', agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    }).on('error', () => resolve(false));
  });
}

/**
 * Starts `meshlet agent` (or the ingress), waits for /ready (or, with a controller that is not
 * there, for its listeners: ≤ 30 s), lets it idle `idleMs`, runs `exercise` with its outbound
 * port, stops it; returns the modules its serving (main) thread resolved. `config`: the
 * directory it reads (default examples/).
 */
async function loadedBy(extra: string[], command: 'agent' | 'ingress' = 'agent', idleMs = 0,
  o: { config?: string; exercise?: (outbound: number) => Promise<void> } = {}): Promise<string[]> {
  const controllerMode = extra.includes('--controller');
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-lazy-'));
  chmodSync(dir, 0o777); // the hook writes its list at exit, after a --uid drop
  try {
    writeFileSync(join(dir, 'hook.mjs'), HOOK);
    const [outbound, inbound, admin] = [await freePort(), await freePort(), await freePort()];
    const ports = command === 'agent'
      ? ['--outbound-port', String(outbound), '--inbound-port', String(inbound)]
      : ['--port-offset', String(outbound - 80)]; // the examples' Gateway listens on 80
    const child = spawn(process.execPath, ['--import', join(dir, 'hook.mjs'), bin, command, ...(controllerMode ? [] : ['--config', o.config ?? examples]), '--host', '127.0.0.1',
      ...ports, '--admin-port', String(admin), '--drain-seconds', '0', ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOADS_FILE: join(dir, 'loads.txt'), OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise((r) => child.once('exit', r));
    const deadline = Date.now() + 30_000;
    let ok = false;
    while (!ok && Date.now() < deadline && child.exitCode === null) {
      ok = controllerMode ? /listening on/.test(stderr) : await ready(admin);
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    if (ok && idleMs > 0) await new Promise((r) => setTimeout(r, idleMs));
    try {
      if (ok && o.exercise) await o.exercise(outbound);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    assert.ok(ok, `the agent never became ready: ${stderr.slice(-500)}`);
    return readFileSync(join(dir, 'loads.txt'), 'utf8').split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const from = (loads: string[], pkg: string): string[] => loads.filter((u) => u.includes(`/node_modules/${pkg}/`));

/**
 * A directory big enough for file mode's translation worker (over IN_PROCESS_BELOW_BYTES of
 * manifests and of table JSON: a small one is translated on the serving thread, ADR 0012): one
 * Service and `routes` HTTPRoutes on it. Removed by the caller.
 */
function bigDirectory(routes = 400): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-lazy-big-'));
  const docs = ['apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, protocol: TCP}]}'];
  for (let i = 0; i < routes; i++) {
    docs.push(`apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r${i}, namespace: shop}\nspec: {parentRefs: [{group: "", kind: Service, name: cart, port: 80}], rules: [{matches: [{path: {type: PathPrefix, value: /p${i}}, headers: [{name: x-route, value: v${i}}]}], backendRefs: [{name: cart, port: 80}]}]}`);
  }
  writeFileSync(join(dir, 'shop.yaml'), docs.join('\n---\n'));
  return dir;
}

describe('feature-only modules (ADR 0012)', () => {
  test('a plaintext file-mode agent without tracing loads neither OpenTelemetry, node-forge, ws nor undici', async () => {
    const loads = await loadedBy(['--no-mtls']);
    assert.ok(loads.some((u) => u.includes('/agent/engine/pools.')), 'the hook saw the proxy\'s own modules');
    assert.deepEqual(from(loads, '@opentelemetry'), []);
    assert.deepEqual(from(loads, 'node-forge'), []);
    assert.deepEqual(from(loads, 'ws'), []);
    // Not even undici's Pool: it is loaded with the first pool, which an idle agent has not made.
    assert.deepEqual(from(loads, 'undici'), []);
    assert.ok(loads.includes('builtin:NativeModule _http_server'), 'the hook saw Node\'s own modules');
    // Nor node:http2 (loaded with the first h2c client, HTTP/2 upstream or gRPC probe), nor Node's
    // bundled undici, which an ES import of node:http would load through its WebSocket getter.
    assert.deepEqual(loads.filter((u) => /^builtin:NativeModule (http2|internal\/http2\/|internal\/deps\/undici\/)/.test(u)), []);
  });

  test('undici is loaded by the first request that needs a pool, which is served; the HTTP/1.1 fast path serves without it', async () => {
    const app = await startEchoServer({ pod: 'echo-0', namespace: 'shop' });
    const dir = mkdtempSync(join(tmpdir(), 'meshlet-lazy-undici-'));
    try {
      writeFileSync(join(dir, 'mesh.yaml'), `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Service
metadata: { name: echo, namespace: shop }
spec: { clusterIP: 10.96.0.41, ports: [{ name: http, port: 80, targetPort: ${app.port}, appProtocol: http }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: echo-1, namespace: shop, labels: { kubernetes.io/service-name: echo } }
addressType: IPv4
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
ports: [{ name: http, port: ${app.port}, protocol: TCP, appProtocol: http }]
`);
      const statuses: number[] = [];
      const exercise = async (outbound: number): Promise<void> => {
        const r = await send({ port: outbound, method: 'POST', path: '/first', authority: 'echo.shop:80', body: 'hello' });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.echo?.path, '/first');
        assert.equal(r.echo?.bodyBytes, 5);
        statuses.push(r.status);
      };
      const fast = await loadedBy(['--no-mtls', '--namespace', 'shop'], 'agent', 0, { config: dir, exercise });
      assert.deepEqual(from(fast, 'undici'), [], 'the fast path served the request without undici');
      const general = await loadedBy(['--no-mtls', '--namespace', 'shop', '--no-h1-fast'], 'agent', 0, { config: dir, exercise });
      assert.ok(from(general, 'undici').some((u) => u.endsWith('/undici/lib/dispatcher/pool.js')), 'the general path loaded undici\'s Pool for its first request');
      assert.deepEqual(statuses, [200, 200]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await app.close();
    }
  });

  test('a file-mode agent\'s serving thread, idle past its translation worker\'s idle period, loads neither yaml nor the translator', async () => {
    // 11.5 s: past the worker's 10 s idle period. With a directory big enough for a worker,
    // reading and translating are the worker's alone.
    const big = bigDirectory();
    const loads = await loadedBy(['--no-mtls'], 'agent', 11_500, { config: big }).finally(() => rmSync(big, { recursive: true, force: true }));
    assert.ok(loads.some((u) => u.includes('/controller/provider/file/file-table-source.')), 'the hook saw the file source');
    assert.deepEqual(from(loads, 'yaml'), []);
    assert.deepEqual(loads.filter((u) => u.includes('/controller/translate/')), []);
    assert.deepEqual(loads.filter((u) => /\/controller\/provider\/file\/(read-manifests|file-translator|file-source-worker)\./.test(u)), []);
  });

  test('a file-mode agent with mTLS on (the default) and no mesh CA in its directory loads no yaml on its serving thread', async () => {
    // examples/ holds no Secret meshlet-system/meshlet-ca: cli/file-identity.ts answers that from
    // the files' text, without the YAML parser (which it loaded before, ~70 modules).
    const big = bigDirectory();
    const loads = await loadedBy([], 'agent', 11_500, { config: big }).finally(() => rmSync(big, { recursive: true, force: true }));
    assert.ok(loads.some((u) => u.includes('/cli/file-identity.')), 'the hook saw the mesh CA lookup');
    assert.deepEqual(from(loads, 'yaml'), []);
    assert.deepEqual(from(loads, 'node-forge'), []);
  });

  test('a small directory (examples/) is translated on the serving thread: its loop and the YAML parser are loaded there', async () => {
    const loads = await loadedBy(['--no-mtls'], 'agent', 0);
    assert.ok(loads.some((u) => /\/controller\/provider\/file\/file-source-worker\./.test(u)), 'the loop runs on the serving thread');
    assert.ok(from(loads, 'yaml').length > 0, 'the YAML parser is loaded there');
  });

  test('the ingress in file mode without tracing loads neither OpenTelemetry, node-forge, ws nor undici', async () => {
    const loads = await loadedBy([], 'ingress');
    assert.ok(loads.some((u) => u.includes('/agent/engine/pools.')), 'the hook saw the proxy\'s own modules');
    assert.deepEqual(from(loads, 'undici'), []);
    assert.deepEqual(loads.filter((u) => /^builtin:NativeModule (http2|internal\/http2\/|internal\/deps\/undici\/)/.test(u)), []);
    assert.deepEqual(from(loads, '@opentelemetry'), []);
    assert.deepEqual(from(loads, 'node-forge'), []);
    assert.deepEqual(from(loads, 'ws'), []);
  });

  test('in controller mode with --no-mtls and no --uid the agent loads neither node-forge (imported only with mTLS), re2js (no table with a regular expression yet) nor the iptables code', async () => {
    const unreachable = await freePort();
    const loads = await loadedBy(['--no-mtls', '--controller', `ws://127.0.0.1:${unreachable}`, '--namespace', 'shop']);
    assert.ok(from(loads, 'ws').length > 0, 'the hook saw the controller channel\'s modules');
    assert.deepEqual(from(loads, 'node-forge'), []);
    assert.deepEqual(from(loads, 're2js'), []);
    // Without --uid nothing of `meshlet init`'s iptables code (agent/intercept, child_process).
    assert.deepEqual(loads.filter((u) => u.includes('/agent/intercept/') || u === 'node:child_process'), []);
  });

  test('with an OTLP endpoint the agent loads the OpenTelemetry SDK', async () => {
    const loads = await loadedBy(['--no-mtls', '--otlp', 'http://127.0.0.1:9']);
    assert.ok(from(loads, '@opentelemetry/sdk-trace-base').length > 0);
  });

  test('dropping privileges (--uid), the agent preloads undici\'s parsers but not its fetch body code (FormData only)', async () => {
    const loads = await loadedBy(['--no-mtls', '--uid', '1337']);
    assert.ok(from(loads, 'undici').some((u) => u.endsWith('/llhttp/llhttp-wasm.js')), 'the parser is preloaded before the drop');
    assert.ok(from(loads, 'undici').some((u) => u.endsWith('/undici/lib/dispatcher/pool.js')), 'so is the Pool (loaded with the first pool otherwise)');
    assert.deepEqual(from(loads, 'undici').filter((u) => u.includes('/undici/lib/web/')), []);
    assert.ok(loads.some((u) => u.endsWith('/agent/intercept/drop-privileges.ts')), 'the privilege drop is imported for --uid');
  });
});
