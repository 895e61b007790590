import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { WIRE_PATH, WIRE_PROTOCOL, encodeMessage, parseMessage, type AgentAuth, type ControllerMessage, type HelloMessage } from '../../api/wire.ts';
import { gateway, table } from '../../test/support/routing-tables.ts';
import { checkIngress, isLoopbackAddress, tokensEqual, IngressUnauthenticatedError } from './ingress-auth.ts';
import { Publisher, type PublisherOptions } from './publisher.ts';

const gatewayTable = table({ gateways: [gateway({ name: 'gw', namespace: 'shop', port: 8443, listeners: [{ name: 'http', hostname: null, vhosts: [] }] })] });

function hello(mode: 'ingress' | 'sidecar', auth: AgentAuth): HelloMessage {
  return { type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: 'p', namespace: 'evil', serviceAccount: 'default', mode }, auth, targets: mode === 'ingress' ? [{ kind: 'gateways' }] : [] };
}

/** Connects, says hello, and returns the first frame the publisher answers with (2 s bound). */
async function firstAnswer(opts: Omit<PublisherOptions, 'host' | 'port'>, h: HelloMessage): Promise<{ frame: ControllerMessage; logs: string[] }> {
  const logs: string[] = [];
  const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: (l) => void logs.push(l), ...opts });
  pub.setTable(gatewayTable);
  const ws = new WebSocket(`ws://127.0.0.1:${pub.port}${WIRE_PATH}`);
  try {
    const frame = await new Promise<ControllerMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2_000);
      ws.once('open', () => ws.send(encodeMessage(h)));
      ws.once('message', (d: Buffer) => {
        clearTimeout(timer);
        resolve(parseMessage(d, 'controller') as ControllerMessage);
      });
      ws.once('error', reject);
    });
    return { frame, logs };
  } finally {
    ws.terminate();
    await pub.close();
  }
}

describe('ingress authentication on the config channel', () => {
  test('without a token, an ingress from a non-loopback address is refused with the wire error, and the log says why', async () => {
    const seen: (string | undefined)[] = [];
    const { frame, logs } = await firstAnswer({ isLoopback: (a) => (seen.push(a), false) }, hello('ingress', { type: 'none' }));
    assert.equal(frame.type, 'error');
    assert.equal(frame.type === 'error' && frame.code, 'E_WIRE_UNAUTHENTICATED');
    assert.match(logs.join('\n'), /no ingress token is configured.*only to connections from its own host/);
    assert.deepEqual(seen, ['127.0.0.1'], 'the hook sees the connection\'s remote address');
  });

  test('without a token, an ingress from loopback is served its Gateways', async () => {
    const { frame } = await firstAnswer({ isLoopback: () => true }, hello('ingress', { type: 'none' }));
    assert.equal(frame.type, 'welcome');
  });

  test('the default loopback check serves a real 127.0.0.1 connection', async () => {
    const { frame } = await firstAnswer({}, hello('ingress', { type: 'none' }));
    assert.equal(frame.type, 'welcome');
  });

  test('an ingress proven by its reviewed ServiceAccount token is served from a remote address, with or without a shared token', async () => {
    const proven = (h: HelloMessage): boolean => h.auth.type === 'token' && h.auth.token === 'sa-token-of-the-ingress';
    const ok = await firstAnswer({ ingressProven: proven, isLoopback: () => false }, hello('ingress', { type: 'token', token: 'sa-token-of-the-ingress' }));
    assert.equal(ok.frame.type, 'welcome');
    const withShared = await firstAnswer({ ingressProven: proven, ingressToken: () => 's3cret', isLoopback: () => false }, hello('ingress', { type: 'token', token: 'sa-token-of-the-ingress' }));
    assert.equal(withShared.frame.type, 'welcome');
    const notProven = await firstAnswer({ ingressProven: proven, isLoopback: () => false }, hello('ingress', { type: 'token', token: 'something-else' }));
    assert.equal(notProven.frame.type, 'error');
  });

  test('with a token, the right one is served even from a remote address', async () => {
    const { frame } = await firstAnswer({ ingressToken: () => 's3cret', isLoopback: () => false }, hello('ingress', { type: 'token', token: 's3cret' }));
    assert.equal(frame.type, 'welcome');
  });

  test('with a token, a wrong or missing one is refused even from loopback', async () => {
    for (const auth of [{ type: 'token', token: 's3cre' }, { type: 'token', token: 's3cret ' }, { type: 'none' }] as AgentAuth[]) {
      const { frame, logs } = await firstAnswer({ ingressToken: () => 's3cret', isLoopback: () => true }, hello('ingress', auth));
      assert.equal(frame.type === 'error' && frame.code, 'E_WIRE_UNAUTHENTICATED', JSON.stringify(auth));
      assert.ok(!logs.join('\n').includes('s3cret'), 'the expected token is never logged');
    }
  });

  test('an unreadable token file refuses (fails closed)', async () => {
    const { frame } = await firstAnswer({ ingressToken: () => { throw new Error('ENOENT'); }, isLoopback: () => true }, hello('ingress', { type: 'token', token: 'x' }));
    assert.equal(frame.type === 'error' && frame.code, 'E_WIRE_UNAUTHENTICATED');
  });

  test('sidecars need no token but still may not subscribe to Gateways', async () => {
    const ok = await firstAnswer({ ingressToken: () => 's3cret', isLoopback: () => false }, hello('sidecar', { type: 'none' }));
    assert.equal(ok.frame.type, 'welcome');
    const bad = await firstAnswer({ isLoopback: () => true }, { ...hello('sidecar', { type: 'none' }), targets: [{ kind: 'gateways' }] });
    assert.equal(bad.frame.type === 'error' && bad.frame.code, 'E_WIRE_SUBSCRIPTION_FORBIDDEN');
  });
});

describe('helpers', () => {
  test('isLoopbackAddress', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackAddress(a), true, a);
    for (const a of [undefined, '', '10.0.0.1', '::ffff:10.0.0.1', '0.0.0.0', '::', 'fe80::1', '128.0.0.1', 'localhost']) assert.equal(isLoopbackAddress(a), false, String(a));
  });

  test('tokensEqual', () => {
    assert.equal(tokensEqual('abc', 'abc'), true);
    assert.equal(tokensEqual('abc', 'abd'), false);
    assert.equal(tokensEqual('abc', 'abcd'), false);
    assert.equal(tokensEqual('', 'x'), false);
  });

  test('checkIngress throws the error class with its stable code', () => {
    assert.throws(() => checkIngress(hello('ingress', { type: 'none' }), '10.1.2.3', {}),
      (e: unknown) => e instanceof IngressUnauthenticatedError && e.code === 'E_WIRE_UNAUTHENTICATED' && e.reason.includes('10.1.2.3'));
    assert.doesNotThrow(() => checkIngress(hello('sidecar', { type: 'none' }), '10.1.2.3', {}));
  });
});
