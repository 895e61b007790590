import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { inClusterConfig, leanFromFile, LeanKubeConfig, TOKEN_FILE_TTL_MS, type AuthContext } from './lean-kube-config.ts';
import { KubeClient } from './kube-client.ts';
import { selfSignedCert } from '../../../test/support/self-signed-cert.ts';

function config(cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'k', cluster }], users: [{ name: 'u', user }], contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
  });
}

/** What applySecurityAuthentication wrote: headers, and whether it set a dispatcher. */
async function applied(kc: LeanKubeConfig): Promise<{ headers: Record<string, string>; dispatcher: boolean }> {
  const headers: Record<string, string> = {};
  let dispatcher: Dispatcher | undefined;
  const ctx: AuthContext = { setHeaderParam: (k, v) => void (headers[k] = v), setDispatcher: (d) => void (dispatcher = d) };
  await kc.applySecurityAuthentication(ctx);
  await dispatcher?.close();
  return { headers, dispatcher: dispatcher !== undefined };
}

test('kubeconfigs of a token, a token file, a certificate or a password are read here; anything else is left to client-node (null)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lean-kc-'));
  try {
    const cases: [string, string, ((kc: LeanKubeConfig) => void) | null][] = [
      ['token', config({ server: 'https://a.example:6443', 'certificate-authority-data': 'Q0E=' }, { token: 't1' }), (kc) => {
        assert.equal(kc.getCurrentCluster().server, 'https://a.example:6443');
        assert.equal(kc.cluster.caData, 'Q0E=');
        assert.equal(kc.user.token, 't1');
      }],
      ['yaml, relative files', 'apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://b.example\n    certificate-authority: ca.pem\n    insecure-skip-tls-verify: false\n'
        + 'users:\n- name: u\n  user:\n    client-certificate: /abs/crt.pem\n    client-key: keys/key.pem\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n', (kc) => {
        assert.equal(kc.cluster.caFile, join(dir, 'ca.pem'));
        assert.equal(kc.cluster.skipTLSVerify, false);
        assert.equal(kc.user.certFile, '/abs/crt.pem');
        assert.equal(kc.user.keyFile, join(dir, 'keys/key.pem'));
      }],
      ['password', config({ server: 'https://c.example', 'insecure-skip-tls-verify': true, 'tls-server-name': 'api' }, { username: 'admin', password: 'pw' }), (kc) => {
        assert.equal(kc.cluster.skipTLSVerify, true);
        assert.equal(kc.cluster.tlsServerName, 'api');
        assert.equal(kc.user.username, 'admin');
      }],
      ['exec plugin', config({ server: 'https://d.example' }, { exec: { command: 'aws', args: ['eks', 'get-token'] } }), null],
      ['auth provider', config({ server: 'https://d.example' }, { 'auth-provider': { name: 'oidc' } }), null],
      ['impersonation', config({ server: 'https://d.example' }, { token: 't', as: 'someone' }), null],
      ['proxy', config({ server: 'https://d.example', 'proxy-url': 'socks5://p:1080' }, { token: 't' }), null],
      ['no server', config({}, { token: 't' }), null],
      ['no such context', JSON.stringify({ 'current-context': 'x', clusters: [], users: [], contexts: [] }), null],
      ['not a kubeconfig', '- just\n- a list\n', null],
      ['not YAML', '{ unclosed: [', null],
    ];
    for (const [name, text, check] of cases) {
      const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
      await writeFile(file, text);
      const kc = leanFromFile(file);
      if (check === null) assert.equal(kc, null, name);
      else {
        assert.ok(kc, name);
        check(kc);
      }
    }
    assert.equal(leanFromFile(join(dir, 'missing')), null);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('authentication: bearer or basic header, a TLS pool when there is TLS material, plain http only with verification off', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lean-kc-'));
  try {
    assert.deepEqual(await applied(new LeanKubeConfig({ server: 'https://a' }, { token: 't' })), { headers: { Authorization: 'Bearer t' }, dispatcher: false });
    assert.deepEqual(await applied(new LeanKubeConfig({ server: 'https://a', caData: 'Q0E=' }, { username: 'u', password: 'p' })),
      { headers: { Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` }, dispatcher: true });
    assert.deepEqual(await applied(new LeanKubeConfig({ server: 'http://a', skipTLSVerify: true }, {})), { headers: {}, dispatcher: true });
    await assert.rejects(applied(new LeanKubeConfig({ server: 'http://a' }, { token: 't' })), /HTTP protocol is not allowed/);
    // A token file is read again once a minute, not for every request.
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'first\n');
    let now = 1_000;
    const kc = new LeanKubeConfig({ server: 'https://a' }, { tokenFile }, () => now);
    assert.equal((await applied(kc)).headers.Authorization, 'Bearer first');
    await writeFile(tokenFile, 'second\n');
    now += TOKEN_FILE_TTL_MS - 1;
    assert.equal((await applied(kc)).headers.Authorization, 'Bearer first');
    now += 1;
    assert.equal((await applied(kc)).headers.Authorization, 'Bearer second');
    // In the cluster: the service account's CA and token, the API server from the environment.
    const inCluster = inClusterConfig({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    assert.equal(inCluster.getCurrentCluster().server, 'https://[fd00::1]:443');
    assert.deepEqual([inCluster.cluster.caFile, inCluster.user.tokenFile], [join(dir, 'ca.crt'), join(dir, 'token')]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a KubeClient on a lean kubeconfig talks TLS to an API server its CA file vouches for, with the token', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lean-kc-'));
  const { cert, key } = selfSignedCert(['kube.test']);
  const seen: (string | undefined)[] = [];
  const server = createServer({ cert, key }, (req, res) => {
    seen.push(req.headers.authorization);
    res.setHeader('content-type', 'application/json');
    res.end('{"kind":"Namespace","metadata":{"name":"n"}}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    await writeFile(join(dir, 'ca.pem'), cert);
    const file = join(dir, 'kubeconfig');
    await writeFile(file, config({ server: `https://127.0.0.1:${port}`, 'certificate-authority': 'ca.pem', 'tls-server-name': 'kube.test' }, { token: 'sekret' }));
    const ok = new KubeClient(leanFromFile(file)!, 5_000);
    assert.deepEqual(await ok.get('/api/v1/namespaces/n'), { kind: 'Namespace', metadata: { name: 'n' } });
    assert.deepEqual(seen, ['Bearer sekret']);
    // Without the CA the server is not trusted: the CA file is what made the call above work.
    await writeFile(file, config({ server: `https://127.0.0.1:${port}`, 'tls-server-name': 'kube.test' }, { token: 'sekret' }));
    await assert.rejects(new KubeClient(leanFromFile(file)!, 5_000).get('/api/v1/namespaces/n'), /Unreachable|certificate/);
    assert.equal(seen.length, 1);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  }
});

// The point of the lean path: a controller configured the common way never loads client-node's
// KubeConfig module and the generated API it imports. Checked in a fresh process, which records
// every module it loads.
test('the provider with a token kubeconfig loads none of client-node\'s generated API; an exec kubeconfig loads its KubeConfig', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lean-kc-'));
  try {
    const provider = new URL('./index.ts', import.meta.url).href;
    const loaded = async (kubeconfig: string): Promise<string[]> => {
      const file = join(dir, `kc-${Math.random().toString(36).slice(2)}`);
      await writeFile(file, kubeconfig);
      const script = `import { registerHooks } from 'node:module';
        const seen = [];
        registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
        const { loadKubeConfig, KubeClient } = await import(${JSON.stringify(provider)});
        const { config } = loadKubeConfig({ kubeconfig: ${JSON.stringify(file)} });
        new KubeClient(config);
        process.stdout.write(JSON.stringify(seen.filter((u) => u.includes('@kubernetes/client-node'))));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as string[]).map((u) => u.slice(u.indexOf('@kubernetes/client-node/') + '@kubernetes/client-node/'.length));
    };
    const lean = await loaded(config({ server: 'https://a.example' }, { token: 't' }));
    assert.ok(lean.includes('dist/watch.js'), `the watch is client-node's: ${lean.join(', ')}`);
    assert.deepEqual(lean.filter((u) => u === 'dist/config.js' || u === 'dist/index.js' || u.startsWith('dist/gen/models/') || u === 'dist/gen/index.js'), []);
    const exec = await loaded(config({ server: 'https://a.example' }, { exec: { command: 'true', apiVersion: 'client.authentication.k8s.io/v1' } }));
    assert.ok(exec.includes('dist/config.js') && exec.includes('dist/gen/index.js'), 'an exec kubeconfig goes to client-node\'s KubeConfig');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
