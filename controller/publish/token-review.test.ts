import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { WIRE_PATH, WIRE_PROTOCOL, encodeMessage, parseMessage, type AgentAuth, type ControllerMessage, type HelloMessage } from '../../api/wire.ts';
import { Publisher } from './publisher.ts';
import { AgentUnauthenticatedError, tokenReviewAuthenticator, type TokenReviewClient } from './token-review.ts';

/** A stand-in apiserver: token → TokenReview status, counting the reviews asked for. */
function reviewer(known: Record<string, { username: string; pod?: string }>): TokenReviewClient & { calls: { path: string; body: unknown }[]; down: boolean } {
  const r = {
    calls: [] as { path: string; body: unknown }[],
    down: false,
    request<T>(_method: 'POST', path: string, opts: { body: unknown }): Promise<T> {
      r.calls.push({ path, body: opts.body });
      if (r.down) return Promise.reject(new Error('connect ECONNREFUSED'));
      const token = (opts.body as { spec: { token: string } }).spec.token;
      const who = known[token];
      const status = who
        ? { authenticated: true, user: { username: who.username, extra: who.pod ? { 'authentication.kubernetes.io/pod-name': [who.pod] } : {} } }
        : { authenticated: false, error: 'invalid bearer token' };
      return Promise.resolve({ status } as T);
    },
  };
  return r;
}

function hello(auth: AgentAuth, agent: Partial<HelloMessage['agent']> = {}): HelloMessage {
  return { type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: 'cart-0', namespace: 'shop', serviceAccount: 'cart', mode: 'sidecar', ...agent }, auth, targets: [] };
}

const KNOWN = { 'tok-cart': { username: 'system:serviceaccount:shop:cart', pod: 'cart-0' }, 'tok-user': { username: 'alice' } };

async function refusal(p: Promise<void>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AgentUnauthenticatedError);
    assert.equal(err.code, 'E_WIRE_AGENT_UNAUTHENTICATED');
    return err.message;
  }
  assert.fail('expected a refusal');
}

describe('tokenReviewAuthenticator', () => {
  test('accepts the token of the claimed namespace, service account and pod; asks with the audiences', async () => {
    const api = reviewer(KNOWN);
    const auth = tokenReviewAuthenticator({ client: api, audiences: ['meshlet'] });
    await auth(hello({ type: 'token', token: 'tok-cart' }));
    assert.equal(api.calls[0]?.path, '/apis/authentication.k8s.io/v1/tokenreviews');
    assert.deepEqual((api.calls[0]?.body as { spec: unknown }).spec, { token: 'tok-cart', audiences: ['meshlet'] });
  });

  test('refuses no token, an unknown token, a user token, and any other claimed identity', async () => {
    const auth = tokenReviewAuthenticator({ client: reviewer(KNOWN) });
    assert.match(await refusal(auth(hello({ type: 'none' }))), /must present its ServiceAccount token/);
    assert.match(await refusal(auth(hello({ type: 'token', token: 'forged' }))), /not accepted: invalid bearer token/);
    assert.match(await refusal(auth(hello({ type: 'token', token: 'tok-user' }))), /not a ServiceAccount's \(alice\)/);
    assert.match(await refusal(auth(hello({ type: 'token', token: 'tok-cart' }, { namespace: 'payments' }))), /belongs to shop\/cart, not the claimed payments\/cart/);
    assert.match(await refusal(auth(hello({ type: 'token', token: 'tok-cart' }, { serviceAccount: 'admin' }))), /not the claimed shop\/admin/);
    assert.match(await refusal(auth(hello({ type: 'token', token: 'tok-cart' }, { pod: 'other-0' }))), /bound to pod cart-0, not the claimed other-0/);
  });

  test('an apiserver that cannot answer refuses (fails closed); answers are reused for cacheMs', async () => {
    const api = reviewer(KNOWN);
    let t = 0;
    const auth = tokenReviewAuthenticator({ client: api, cacheMs: 1000, now: () => t });
    api.down = true;
    assert.match(await refusal(auth(hello({ type: 'token', token: 'tok-cart' }))), /could not be reviewed: connect ECONNREFUSED/);
    api.down = false;
    await auth(hello({ type: 'token', token: 'tok-cart' }));
    await auth(hello({ type: 'token', token: 'tok-cart' }));
    assert.equal(api.calls.length, 2, 'the second hello reused the review');
    t = 2000;
    await auth(hello({ type: 'token', token: 'tok-cart' }));
    assert.equal(api.calls.length, 3, 'reviewed again once stale');
  });

  test('the ingress is left to the ingress token check', async () => {
    const api = reviewer(KNOWN);
    await tokenReviewAuthenticator({ client: api })(hello({ type: 'token', token: 'shared' }, { mode: 'ingress' }));
    assert.equal(api.calls.length, 0);
  });

  test('as the Publisher\'s authenticate hook: a forged claim gets the wire error, the real one a welcome', async () => {
    const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined, authenticate: tokenReviewAuthenticator({ client: reviewer(KNOWN) }) });
    const first = (h: HelloMessage): Promise<ControllerMessage> => new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${pub.port}${WIRE_PATH}`);
      const timer = setTimeout(() => { ws.terminate(); reject(new Error('no answer within 2 s')); }, 2_000);
      ws.once('open', () => ws.send(encodeMessage(h)));
      ws.once('message', (d: Buffer) => {
        clearTimeout(timer);
        ws.terminate();
        resolve(parseMessage(d, 'controller') as ControllerMessage);
      });
      ws.once('error', reject);
    });
    try {
      const forged = await first(hello({ type: 'token', token: 'tok-cart' }, { namespace: 'payments' }));
      assert.equal(forged.type === 'error' && forged.code, 'E_WIRE_AGENT_UNAUTHENTICATED');
      assert.equal((await first(hello({ type: 'token', token: 'tok-cart' }))).type, 'welcome');
    } finally {
      await pub.close();
    }
  });
});

describe('the ingress proves itself with its ServiceAccount token', () => {
  const known = { ...KNOWN, 'tok-ingress': { username: 'system:serviceaccount:meshlet-system:meshlet-ingress' } };
  const ingressIdentity = { namespace: 'meshlet-system', serviceAccount: 'meshlet-ingress' };
  const ingressHello = (auth: AgentAuth): HelloMessage => hello(auth, { mode: 'ingress', pod: 'ingress-0', namespace: 'meshlet-system', serviceAccount: 'meshlet-ingress' });

  test('its reviewed token proves it; a sidecar\'s token claiming ingress is refused; no token leaves the decision to the shared token or loopback', async () => {
    const auth = tokenReviewAuthenticator({ client: reviewer(known), ingressIdentity });
    const proven = ingressHello({ type: 'token', token: 'tok-ingress' });
    await auth(proven);
    assert.equal(auth.provenIngress(proven), true);

    const impostor = ingressHello({ type: 'token', token: 'tok-cart' });
    assert.match(await refusal(auth(impostor)), /belongs to shop\/cart, not the ingress's meshlet-system\/meshlet-ingress/);
    assert.equal(auth.provenIngress(impostor), false);

    const shared = ingressHello({ type: 'token', token: 'the-shared-bearer-token' });
    await auth(shared);
    assert.equal(auth.provenIngress(shared), false, 'not a ServiceAccount token: ingress-auth.ts decides');

    const none = ingressHello({ type: 'none' });
    await auth(none);
    assert.equal(auth.provenIngress(none), false);
  });

  test('without an ingress identity configured, ingress hellos are not reviewed at all', async () => {
    const r = reviewer(known);
    const auth = tokenReviewAuthenticator({ client: r });
    await auth(ingressHello({ type: 'token', token: 'tok-ingress' }));
    assert.equal(r.calls.length, 0);
  });
});
