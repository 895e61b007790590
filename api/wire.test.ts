import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WIRE_LIMITS, WIRE_PROTOCOL, WireMessageInvalidError, WireProtocolUnsupportedError, encodeMessage, parseMessage, targetKey,
  type WireMessage,
} from './wire.ts';

const hello = {
  type: 'hello', protocol: WIRE_PROTOCOL,
  agent: { pod: 'web-1', namespace: 'shop', serviceAccount: 'web', mode: 'sidecar' },
  auth: { type: 'none' },
  targets: [{ kind: 'inbound', port: 8080 }],
};

function invalid(data: unknown, from: 'agent' | 'controller'): WireMessageInvalidError {
  try {
    parseMessage(typeof data === 'string' ? data : JSON.stringify(data), from);
  } catch (err) {
    assert.ok(err instanceof WireMessageInvalidError, String(err));
    assert.equal(err.code, 'E_WIRE_MESSAGE_INVALID');
    return err;
  }
  assert.fail('expected the message to be refused');
}

describe('parseMessage', () => {
  test('round-trips every agent message', () => {
    const msgs: WireMessage[] = [
      hello as WireMessage,
      { type: 'subscribe', id: 1, targets: [{ kind: 'destination', address: '10.0.0.1', port: 80 }, { kind: 'inbound', port: 8080 }, { kind: 'gateway', namespace: 'infra', name: 'gw' }, { kind: 'gateways' }] },
      { type: 'unsubscribe', id: 2, targets: [{ kind: 'inbound', port: 8080 }] },
      { type: 'ack', version: 'abc' },
      { type: 'nack', version: 'abc', reason: 'bad regex', resend: false },
      { type: 'ping', nonce: 3 },
      { type: 'pong', nonce: 3 },
    ];
    for (const m of msgs) assert.deepEqual(parseMessage(encodeMessage(m), 'agent'), m);
  });

  test('round-trips controller messages, Buffer input included', () => {
    const table = { apiVersion: 'meshlet.dev/routing/v1alpha1', version: 'v1', gateways: [], services: [], backends: [], secrets: [], policies: [] } as const;
    const msgs: WireMessage[] = [
      { type: 'welcome', protocol: WIRE_PROTOCOL, controller: 'c-1' },
      { type: 'update', version: 'v1', table: { ...table, gateways: [], services: [], backends: [], secrets: [], policies: [] } },
      { type: 'subscribed', id: 4, version: 'v1' },
      { type: 'error', code: 'E_X', message: 'no' },
    ];
    for (const m of msgs) assert.deepEqual(parseMessage(Buffer.from(encodeMessage(m)), 'controller'), m);
  });

  test('refuses a message type from the wrong side', () => {
    assert.match(invalid({ type: 'update', version: 'v', table: { version: 'v' } }, 'agent').message, /not a message the agent sends/);
    assert.match(invalid(hello, 'controller').message, /not a message the controller sends/);
  });

  test('refuses non-JSON, non-objects and unknown types', () => {
    assert.match(invalid('{nope', 'agent').message, /not JSON/);
    invalid('[1]', 'agent');
    invalid({ type: 'bogus' }, 'agent');
  });

  test('reports each bad field of a hello by path', () => {
    const err = invalid({ ...hello, agent: { pod: '', namespace: 3, mode: 'daemon' }, auth: { type: 'magic' } }, 'agent');
    const paths = err.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['agent.mode', 'agent.namespace', 'agent.pod', 'agent.serviceAccount', 'auth.type']);
  });

  test('a hello carries its initial subscriptions, bounded by the per-agent limit', () => {
    assert.equal(invalid({ ...hello, targets: undefined }, 'agent').issues[0]?.path, 'targets');
    const many = Array.from({ length: WIRE_LIMITS.subscriptionsPerAgent + 1 }, () => ({ kind: 'gateways' }));
    invalid({ ...hello, targets: many }, 'agent');
    const enough = Array.from({ length: WIRE_LIMITS.targetsPerMessage + 1 }, () => ({ kind: 'gateways' }));
    assert.equal(parseMessage(JSON.stringify({ ...hello, targets: enough }), 'agent').type, 'hello');
  });

  test('a hello may name the version rules it checks (ADR 0025): a list of short names, or nothing (an older agent)', () => {
    assert.deepEqual((parseMessage(JSON.stringify({ ...hello, versionRules: ['e1'] }), 'agent') as { versionRules?: string[] }).versionRules, ['e1']);
    assert.equal(parseMessage(JSON.stringify(hello), 'agent').type, 'hello');
    for (const bad of ['e1', [1], [''], ['x'.repeat(17)], Array.from({ length: 9 }, () => 'e1')]) {
      assert.equal(invalid({ ...hello, versionRules: bad }, 'agent').issues[0]?.path, 'versionRules', JSON.stringify(bad));
    }
  });

  test('a token must be a string', () => {
    assert.equal(invalid({ ...hello, auth: { type: 'token', token: 5 } }, 'agent').issues[0]?.path, 'auth.token');
    assert.equal(parseMessage(JSON.stringify({ ...hello, auth: { type: 'token', token: 'jwt' } }), 'agent').type, 'hello');
  });

  test('a hello may name the version the agent runs, and a welcome may say it is current: both optional, both checked', () => {
    // Without the fields (an agent or controller from before resume): still valid.
    assert.equal((parseMessage(JSON.stringify(hello), 'agent') as { version?: string }).version, undefined);
    assert.equal((parseMessage(JSON.stringify({ type: 'welcome', protocol: WIRE_PROTOCOL, controller: 'c' }), 'controller') as { current?: string }).current, undefined);
    const resuming = { ...hello, version: 'a'.repeat(64) };
    assert.deepEqual(parseMessage(JSON.stringify(resuming), 'agent'), resuming);
    const welcome = { type: 'welcome', protocol: WIRE_PROTOCOL, controller: 'c', current: 'a'.repeat(64) };
    assert.deepEqual(parseMessage(JSON.stringify(welcome), 'controller'), welcome);
    for (const bad of [5, '', 'x'.repeat(129), null]) {
      assert.deepEqual(invalid({ ...hello, version: bad }, 'agent').issues.map((i) => i.path), ['version'], `hello version ${JSON.stringify(bad)}`);
      assert.deepEqual(invalid({ ...welcome, current: bad }, 'controller').issues.map((i) => i.path), ['current'], `welcome current ${JSON.stringify(bad)}`);
    }
  });

  test('refuses a hello in another protocol with its own error', () => {
    assert.throws(() => parseMessage(JSON.stringify({ ...hello, protocol: 'meshlet.dev/wire/v9' }), 'agent'), (err: unknown) =>
      err instanceof WireProtocolUnsupportedError && err.code === 'E_WIRE_PROTOCOL_UNSUPPORTED' && err.protocol === 'meshlet.dev/wire/v9');
  });

  test('checks subscription targets', () => {
    const err = invalid({ type: 'subscribe', id: 1, targets: [{ kind: 'destination', address: '10.0.0.1', port: 0 }, { kind: 'inbound' }, { kind: 'gateway', name: 'gw' }, { kind: 'pods' }] }, 'agent');
    assert.deepEqual(err.issues.map((i) => i.path), ['targets[0].port', 'targets[1].port', 'targets[2].namespace', 'targets[3].kind']);
    invalid({ type: 'subscribe', id: -1, targets: [] }, 'agent');
    const many = Array.from({ length: WIRE_LIMITS.targetsPerMessage + 1 }, () => ({ kind: 'gateways' }));
    assert.match(invalid({ type: 'subscribe', id: 1, targets: many }, 'agent').message, /more than/);
  });

  test('an update whose table carries another version is refused', () => {
    invalid({ type: 'update', version: 'v1', table: { version: 'v2' } }, 'controller');
    invalid({ type: 'update', version: 'v1' }, 'controller');
  });

  test('bounds a nack reason', () => {
    invalid({ type: 'nack', version: 'v', reason: 'x'.repeat(WIRE_LIMITS.reasonLength + 1), resend: false }, 'agent');
    invalid({ type: 'nack', version: 'v', reason: 'x' }, 'agent');
  });
});

test('targetKey tells targets apart', () => {
  const keys = new Set([
    targetKey({ kind: 'destination', address: '10.0.0.1', port: 80 }),
    targetKey({ kind: 'destination', address: '10.0.0.1', port: 81 }),
    targetKey({ kind: 'inbound', port: 80 }),
    targetKey({ kind: 'gateway', namespace: 'a', name: 'b' }),
    targetKey({ kind: 'gateways' }),
  ]);
  assert.equal(keys.size, 5);
});

test('identity messages ride the config channel: csr from agents, certificate and certificate-error from the controller, shapes checked', () => {
  const csr = { type: 'csr', id: 7, csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nx\n-----END CERTIFICATE REQUEST-----\n', token: 'tok' };
  assert.deepEqual(parseMessage(JSON.stringify(csr), 'agent'), csr);
  assert.throws(() => parseMessage(JSON.stringify(csr), 'controller'), /'csr' is not a message the controller sends/);
  assert.throws(() => parseMessage(JSON.stringify({ ...csr, token: '' }), 'agent'), /token: must be a non-empty string/);
  const err = { type: 'certificate-error', id: 7, code: 'E_CSR_POD_NOT_FOUND', message: 'pod shop/cart-0 is gone', retryable: false };
  assert.deepEqual(parseMessage(JSON.stringify(err), 'controller'), err);
  assert.throws(() => parseMessage(JSON.stringify({ ...err, code: 'E_MADE_UP' }), 'controller'), /code: must be one of/);
  assert.throws(() => parseMessage(JSON.stringify({ type: 'certificate', id: 1, chainPem: [], rootsPem: [], notAfter: 'x' }), 'controller'), /chainPem: must hold the leaf certificate/);
});
