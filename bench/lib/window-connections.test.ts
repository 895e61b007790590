import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countsDelta, parseConnectionCounts, saturationConnectionsSection } from './window-connections.ts';

const TEXT = `# HELP meshlet_proxy_inflight Requests and tunnels in progress.
# TYPE meshlet_proxy_inflight gauge
meshlet_proxy_inflight{mode="sidecar"} 3
# HELP meshlet_proxy_upstream_connections_opened_total x
# TYPE meshlet_proxy_upstream_connections_opened_total counter
meshlet_proxy_upstream_connections_opened_total{mode="sidecar",transport="mtls"} 7
meshlet_proxy_upstream_connections_opened_total{mode="sidecar",transport="plaintext"} 5
# HELP meshlet_mesh_tls_handshakes_total x
# TYPE meshlet_mesh_tls_handshakes_total counter
meshlet_mesh_tls_handshakes_total{mode="sidecar",side="client",session="full"} 2
meshlet_mesh_tls_handshakes_total{mode="sidecar",side="client",session="resumed"} 5
meshlet_mesh_tls_handshakes_total{mode="sidecar",side="server",session="full"} 1
meshlet_mesh_tls_handshakes_total{mode="sidecar",side="server",session="resumed"} 4
`;

test('the counts of a /metrics text: connections by transport, handshakes of both sides by session', () => {
  assert.deepEqual(parseConnectionCounts(TEXT), { opened: 12, mtlsOpened: 7, handshakesFull: 3, handshakesResumed: 9 });
});

test('an agent that exports none of the counters gives null, not zeros', () => {
  assert.equal(parseConnectionCounts('meshlet_proxy_inflight{mode="sidecar"} 3\n'), null);
  assert.equal(parseConnectionCounts(''), null);
});

test('the window is the difference of two reads; a missing read leaves it unknown', () => {
  const a = { opened: 10, mtlsOpened: 4, handshakesFull: 2, handshakesResumed: 2 };
  const b = { opened: 42, mtlsOpened: 36, handshakesFull: 9, handshakesResumed: 27 };
  assert.deepEqual(countsDelta(a, b), { opened: 32, mtlsOpened: 32, handshakesFull: 7, handshakesResumed: 25 });
  assert.equal(countsDelta(null, b), null);
  assert.equal(countsDelta(a, null), null);
});

test('the report shows each round of a counted configuration: rps per core, connections opened, handshakes', () => {
  const counts = (opened: number, mtls: number, full: number, resumed: number) => ({ opened, mtlsOpened: mtls, handshakesFull: full, handshakesResumed: resumed });
  const rounds = [
    { round: 1, config: 'nginx', maxRps: { rpsPerCore: 30_000 } },
    { round: 1, config: 'mtls', maxRps: { rpsPerCore: 5183.4, connections: [{ counts: counts(0, 0, 0, 0) }, { counts: counts(0, 0, 0, 0) }] } },
    { round: 2, config: 'mtls', maxRps: { rpsPerCore: 3016, connections: [{ counts: counts(32, 32, 10, 22) }, { counts: counts(3, 0, 10, 22) }] } },
    { round: 3, config: 'mtls', maxRps: { rpsPerCore: 7549, connections: [{ counts: null }, { counts: counts(0, 0, 0, 0) }], proxyCore: { othersBusy: 0.031, steal: 0.2 } } },
  ];
  const text = saturationConnectionsSection(rounds, (c) => `label ${c}`);
  assert.equal(text[2], '| configuration | round 1 | round 2 | round 3 |');
  assert.equal(text[4], '| label mtls | 5183 · 0 opened (0 mTLS) · 0 / 0 | 3016 · 35 opened (32 mTLS) · 20 / 44 | 7549 · counts not read · others 3 %, steal 20 % |');
  assert.equal(text.length, 6, 'nginx, without counts, has no row');
  assert.deepEqual(saturationConnectionsSection(rounds.slice(0, 1), (c) => c), []);
});
