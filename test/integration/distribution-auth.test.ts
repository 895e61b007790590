// The config channel's interim authentication, end to end with the real binary: Gateways (and
// their TLS private keys) reach `meshlet ingress --controller URL --token-file FILE` only when
// the token matches the controller's; a wrong or missing token is refused with the wire error
// and the ingress never binds the listener. The publisher is told every connection is remote,
// so it is the token (not loopback) that lets the ingress in. `meshlet controller
// --ingress-token-file` is checked in-process the same way.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ControllerClient } from '../../agent/controller-client/index.ts';
import { main } from '../../cli/main.ts';
import { captureIo } from '../../cli/test-io.ts';
import { Publisher, tokenReviewAuthenticator, type TokenReviewClient } from '../../controller/publish/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { backend, backendName, gateway, rule, table } from '../support/routing-tables.ts';
import { waitFor } from '../support/wait-for.ts';
import { eventually } from './distribution-world.ts';
import { freePort } from '../support/free-port.ts';
import { runMeshlet, stopMeshlet, type MeshletProcess } from '../support/meshlet-process.ts';

const TOKEN = 'ingress-token-7d1c0f';

async function answers(port: number): Promise<boolean> {
  try {
    return (await send({ port, path: '/', timeoutMs: 1_000 })).echo?.pod === 'web-0';
  } catch {
    return false;
  }
}

describe('meshlet ingress --token-file against a publisher that demands a token', () => {
  let pub: Publisher;
  let echo: EchoServer;
  let dir: string;
  const logs: string[] = [];
  const procs: MeshletProcess[] = [];
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'meshlet-auth-'));
    await writeFile(path.join(dir, 'good'), `${TOKEN}\n`);
    await writeFile(path.join(dir, 'bad'), 'not-the-token\n');
    echo = await startEchoServer({ pod: 'web-0', namespace: 'default' });
    pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: (l) => void logs.push(l), ingressToken: () => TOKEN, isLoopback: () => false });
  });
  after(async () => {
    for (const p of procs) await stopMeshlet(p);
    await pub.close();
    await echo.close();
    await rm(dir, { recursive: true, force: true });
  });

  const publish = (gatewayPort: number): void => pub.setTable(table({
    gateways: [gateway({ name: 'public', port: gatewayPort, listeners: [{ name: 'http', hostname: null, vhosts: [{ hostname: '*', rules: [rule({ route: 'front', backends: [{ backend: backendName('default', 'web', 80) }] })] }] }] })],
    backends: [backend('default', 'web', 80, [{ port: echo.port, podName: 'web-0' }])],
  }));

  const ingress = (pod: string, extra: string[]): MeshletProcess => {
    const p = runMeshlet(['ingress', '--controller', `ws://127.0.0.1:${pub.port}`, '--host', '127.0.0.1', '--admin-port', '0', '--pod', pod, '--drain-seconds', '0', ...extra]);
    procs.push(p);
    return p;
  };

  for (const [what, extra] of [['a wrong token', ['--token-file', 'bad']], ['no token', []]] as const) {
    test(`${what} is refused: no hello accepted, no listener bound`, async () => {
      const gatewayPort = await freePort();
      publish(gatewayPort);
      const pod = `ingress-${extra.length}`;
      const p = ingress(pod, extra.map((a) => (a === 'bad' ? path.join(dir, 'bad') : a)));
      await eventually('the ingress logs the refusal', () => p.output().includes('E_WIRE_UNAUTHENTICATED'), 15_000);
      assert.equal(pub.agents().some((a) => a.pod === pod), false);
      assert.equal(await answers(gatewayPort), false);
      assert.ok(!p.output().includes(TOKEN));
      await stopMeshlet(p);
    });
  }

  test('the right token is served the Gateways and the listener answers', async () => {
    const gatewayPort = await freePort();
    publish(gatewayPort);
    ingress('ingress-ok', ['--token-file', path.join(dir, 'good')]);
    await eventually('the ingress is accepted', () => pub.agents().some((a) => a.pod === 'ingress-ok' && a.mode === 'ingress'), 15_000);
    await eventually('the Gateway listener answers', () => answers(gatewayPort), 10_000);
    assert.ok(logs.some((l) => /E_WIRE_UNAUTHENTICATED: ingress hello refused: the bearer token does not match/.test(l)), 'the controller logged why it refused');
    assert.ok(!logs.join('\n').includes(TOKEN), 'the token is never logged');
  });

  test('--token-file without --controller, or naming a missing file, is a usage error', async () => {
    for (const args of [['--config', dir, '--token-file', path.join(dir, 'good')], ['--controller', 'ws://127.0.0.1:1', '--token-file', path.join(dir, 'missing')]]) {
      const p = runMeshlet(['ingress', ...args]);
      const code = await new Promise<number | null>((r) => p.child.once('exit', (c) => r(c)));
      assert.notEqual(code, 0, args.join(' '));
      assert.match(p.output(), /--token-file/);
    }
  });
});

describe('meshlet agent --token-file against a publisher reviewing ServiceAccount tokens', () => {
  // Stands in for the apiserver's TokenReview: one known token, of shop/cart.
  const reviews: TokenReviewClient = {
    request: <T>(_m: 'POST', _p: string, opts: { body: unknown }): Promise<T> => Promise.resolve({
      status: (opts.body as { spec: { token: string } }).spec.token === 'sa-token-cart'
        ? { authenticated: true, user: { username: 'system:serviceaccount:shop:cart' } }
        : { authenticated: false },
    } as T),
  };

  test('the pod\'s own token is accepted; a claim of another namespace with it is refused', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'meshlet-auth-sa-'));
    await writeFile(path.join(dir, 'token'), 'sa-token-cart\n');
    const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined, authenticate: tokenReviewAuthenticator({ client: reviews }) });
    pub.setTable(table({}));
    const procs: MeshletProcess[] = [];
    const agent = (namespace: string, pod: string): MeshletProcess => {
      const p = runMeshlet(['agent', '--controller', `ws://127.0.0.1:${pub.port}`, '--host', '127.0.0.1', '--outbound-port', '0', '--inbound-port', '0', '--admin-port', '0',
        '--namespace', namespace, '--pod', pod, '--service-account', 'cart', '--token-file', path.join(dir, 'token'), '--drain-seconds', '0']);
      procs.push(p);
      return p;
    };
    try {
      agent('shop', 'cart-0');
      const forged = agent('payments', 'evil-0');
      await eventually('the real sidecar is accepted', () => pub.agents().some((a) => a.pod === 'cart-0'), 15_000);
      await eventually('the forged claim is refused', () => forged.output().includes('E_WIRE_AGENT_UNAUTHENTICATED'), 15_000);
      assert.equal(pub.agents().some((a) => a.pod === 'evil-0'), false);
    } finally {
      for (const p of procs) await stopMeshlet(p);
      await pub.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('meshlet controller --ingress-token-file', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  test('file mode serves Gateways only to an ingress with the token', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'meshlet-auth-ctl-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(path.join(dir, 'token'), TOKEN);
    await writeManifests(dir);
    const io = captureIo();
    let code: number | undefined;
    void main(['controller', '--config', path.join(dir, 'manifests'), '--listen-host', '127.0.0.1', '--listen-port', '0', '--admin-port', '0', '--ingress-token-file', path.join(dir, 'token')], io).then((c) => { code = c; });
    cleanup.push(async () => {
      io.stop('SIGTERM');
      await waitFor('controller exit', () => code !== undefined, { timeoutMs: 5000 });
    });
    const port = await waitFor('serving line', () => /serving agents on ws:\/\/127\.0\.0\.1:(\d+)/.exec(io.err())?.[1], { describe: () => io.err() });
    const connect = (token: string): ControllerClient => {
      const c = new ControllerClient({
        url: `ws://127.0.0.1:${port}`, agent: { pod: `ingress-${token}`, namespace: 'meshlet', serviceAccount: 'ingress', mode: 'ingress' },
        auth: { type: 'token', token }, targets: [{ kind: 'gateways' }], backoff: { initialMs: 50, maxMs: 200 }, log: () => {},
      }).start();
      cleanup.push(() => c.close());
      return c;
    };
    const wrong = connect('guess');
    const right = connect(TOKEN);
    await waitFor('the right token gets the Gateway', () => (right.current?.gateways.length ?? 0) > 0, { describe: () => io.err() });
    await waitFor('the wrong token is refused', () => io.err().includes('E_WIRE_UNAUTHENTICATED') || undefined, { describe: () => io.err() });
    assert.equal(wrong.current, null);
    assert.ok(!io.err().includes(TOKEN));
  });

  test('--agent-auth: only none or tokenreview, and tokenreview needs the Kubernetes API', async () => {
    for (const [args, message] of [[['--agent-auth', 'bogus'], /--agent-auth wants none or tokenreview/], [['--agent-auth', 'tokenreview'], /needs the Kubernetes API/]] as const) {
      const io = captureIo();
      assert.equal(await main(['controller', '--config', '.', '--listen-port', '0', ...args], io), 1);
      assert.match(io.err(), message);
    }
  });

  test('an unreadable token file stops the controller at start', async () => {
    const io = captureIo();
    const code = await main(['controller', '--config', '.', '--listen-host', '127.0.0.1', '--listen-port', '0', '--admin-port', '0', '--ingress-token-file', '/nonexistent/token'], io);
    assert.equal(code, 1, 'a usage error');
    assert.match(io.err(), /--ingress-token-file: cannot read/);
  });
});

/** A Gateway of meshlet's class under DIR/manifests: enough for the table to carry one. */
async function writeManifests(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'manifests'));
  await writeFile(path.join(dir, 'manifests', 'gw.yaml'), `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: meshlet }
spec: { controllerName: meshlet.dev/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: public, namespace: default }
spec:
  gatewayClassName: meshlet
  listeners: [{ name: http, port: 8080, protocol: HTTP }]
`);
}
