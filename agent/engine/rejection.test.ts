// What a client reads when the proxy refuses a request: one row per rejection cause, with the
// status and the `meshlet-reason` users see today. A cause's public text must never change by
// accident (scripts and dashboards match on it), and a 5xx must never show its log detail.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DownstreamResponse } from './downstream.ts';
import { sendGrpcStatus, sendStatus } from './error-response.ts';
import {
  clientError, internalError, noHealthyUpstream, noRoutingTable, notResolvedYet, routeAnswer, upstreamTimeout, upstreamUnavailable,
  type Rejection,
} from './rejection.ts';
import { refusalBytes } from './upgrade.ts';

interface Written {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A response that records what the proxy wrote (the same calls node's response receives). */
function recorder(): { res: DownstreamResponse; written: () => Written } {
  let status = 0;
  let headers: Record<string, string> = {};
  let body = '';
  const res = {
    headersSent: false,
    writeHead(s: number, h: Record<string, string>) {
      status = s;
      headers = h;
    },
    end(b?: string) {
      body = b ?? '';
    },
    destroy() {
      throw new Error('the proxy gave up on the response');
    },
  };
  return { res: res as unknown as DownstreamResponse, written: () => ({ status, headers, body }) };
}

interface Row {
  cause: string;
  /** The rejection as the rejecting code builds it. */
  make: () => Rejection;
  /** What the agent's log says (unchanged by the public text). */
  detail: string;
  status: number;
  reason: string;
}

const GENERIC_503 = 'upstream connect error or disconnect/reset before headers';

const ROWS: Row[] = [
  { cause: 'malformed request (downstream.ts)', make: () => clientError(400, 'more than one Host header'), detail: 'more than one Host header', status: 400, reason: 'more than one Host header' },
  { cause: 'outbound: not redirected, explicit mode off', make: () => clientError(400, 'connection was not redirected to the sidecar (explicit mode is off)'), detail: 'connection was not redirected to the sidecar (explicit mode is off)', status: 400, reason: 'connection was not redirected to the sidecar (explicit mode is off)' },
  { cause: 'outbound: explicit mode from another host', make: () => clientError(403, 'explicit mode serves only clients on this host'), detail: 'explicit mode serves only clients on this host', status: 403, reason: 'explicit mode serves only clients on this host' },
  { cause: 'outbound: explicit target unknown', make: () => clientError(404, "no Service named 'nope' in namespace 'default'"), detail: "no Service named 'nope' in namespace 'default'", status: 404, reason: "no Service named 'nope' in namespace 'default'" },
  { cause: 'outbound: addressed to the sidecar itself', make: () => clientError(400, 'request addressed to the sidecar itself'), detail: 'request addressed to the sidecar itself', status: 400, reason: 'request addressed to the sidecar itself' },
  { cause: 'outbound: not a mesh Service port', make: () => clientError(404, '10.0.0.1:81 is not a mesh Service port'), detail: '10.0.0.1:81 is not a mesh Service port', status: 404, reason: '10.0.0.1:81 is not a mesh Service port' },
  { cause: 'outbound: destination not resolved yet (on demand)', make: () => notResolvedYet('no routing answer from the controller for 10.0.0.9:80 yet (refused rather than sent outside the mesh)'), detail: 'no routing answer from the controller for 10.0.0.9:80 yet (refused rather than sent outside the mesh)', status: 503, reason: 'destination not resolved yet: no answer from the mesh controller' },
  { cause: 'no routing table yet', make: () => noRoutingTable(), detail: 'no routing table yet', status: 503, reason: GENERIC_503 },
  { cause: 'inbound: no original destination', make: () => clientError(400, 'inbound connection without an original destination'), detail: 'inbound connection without an original destination', status: 400, reason: 'inbound connection without an original destination' },
  { cause: 'inbound: STRICT mTLS refuses plaintext', make: () => clientError(403, 'STRICT mTLS: plaintext is refused (the caller is not a mesh workload)'), detail: 'STRICT mTLS: plaintext is refused (the caller is not a mesh workload)', status: 403, reason: 'STRICT mTLS: plaintext is refused (the caller is not a mesh workload)' },
  { cause: 'inbound: authorization denied', make: () => clientError(403, 'RBAC: access denied: no ALLOW policy matched'), detail: 'RBAC: access denied: no ALLOW policy matched', status: 403, reason: 'RBAC: access denied: no ALLOW policy matched' },
  { cause: 'stream idle timeout', make: () => clientError(408, 'stream idle timeout'), detail: 'stream idle timeout', status: 408, reason: 'stream idle timeout' },
  { cause: 'route: no rule matches', make: () => routeAnswer(404, "no rule of virtual host '*' on web/80 (producer routes) matches"), detail: "no rule of virtual host '*' on web/80 (producer routes) matches", status: 404, reason: "no rule of virtual host '*' on web/80 (producer routes) matches" },
  { cause: 'route: misdirected request', make: () => routeAnswer(421, "host 'b.example' is not served by gw/https, which the TLS server name 'a.example' selected"), detail: "host 'b.example' is not served by gw/https, which the TLS server name 'a.example' selected", status: 421, reason: "host 'b.example' is not served by gw/https, which the TLS server name 'a.example' selected" },
  { cause: 'route: redirect', make: () => routeAnswer(302, 'redirect'), detail: 'redirect', status: 302, reason: 'redirect' },
  { cause: 'route: unknown address at a gateway', make: () => clientError(404, '10.0.0.1:80 is not a known Service port'), detail: '10.0.0.1:80 is not a known Service port', status: 404, reason: '10.0.0.1:80 is not a known Service port' },
  { cause: 'route: rule without backends', make: () => routeAnswer(500, 'rule has no backends'), detail: 'rule has no backends', status: 500, reason: 'internal error' },
  { cause: 'route: Respond action (rule has no backendRefs)', make: () => routeAnswer(500, 'rule has no backendRefs'), detail: 'rule has no backendRefs', status: 500, reason: 'internal error' },
  { cause: 'route: matcher error', make: () => routeAnswer(500, 'matcher error: boom'), detail: 'matcher error: boom', status: 500, reason: 'internal error' },
  { cause: 'plan: all backends have weight 0', make: () => internalError('all backends have weight 0'), detail: 'all backends have weight 0', status: 500, reason: 'internal error' },
  { cause: 'plan: invalid backend', make: () => internalError('invalid backend: service default/nope not found'), detail: 'invalid backend: service default/nope not found', status: 500, reason: 'internal error' },
  { cause: 'plan: unknown backend', make: () => internalError('unknown backend service/default/web/80'), detail: 'unknown backend service/default/web/80', status: 500, reason: 'internal error' },
  { cause: 'ingress: no Gateway on the port', make: () => clientError(404, 'no Gateway listens on port 8080'), detail: 'no Gateway listens on port 8080', status: 404, reason: 'no Gateway listens on port 8080' },
  { cause: 'attempts: no ready endpoints', make: () => noHealthyUpstream('no ready endpoints for service/default/web/80'), detail: 'no ready endpoints for service/default/web/80', status: 503, reason: 'no healthy upstream' },
  { cause: 'attempts: connect failed', make: () => upstreamUnavailable('upstream connect error or reset: connect to 10.1.0.5:8080 failed: ECONNREFUSED'), detail: 'upstream connect error or reset: connect to 10.1.0.5:8080 failed: ECONNREFUSED', status: 503, reason: GENERIC_503 },
  { cause: 'attempts: no pooled connection in time', make: () => upstreamUnavailable('upstream connect error or reset: no connection to 10.1.0.5:8080 free within 100 ms'), detail: 'upstream connect error or reset: no connection to 10.1.0.5:8080 free within 100 ms', status: 503, reason: GENERIC_503 },
  { cause: 'attempts: backend request timeout', make: () => upstreamTimeout('backend did not answer within 50 ms'), detail: 'backend did not answer within 50 ms', status: 504, reason: 'upstream request timeout' },
  { cause: 'attempts: request timeout', make: () => upstreamTimeout('request did not complete within 15000 ms'), detail: 'request did not complete within 15000 ms', status: 504, reason: 'upstream request timeout' },
  { cause: 'upgrade: connect failed', make: () => upstreamUnavailable('connect to 10.1.0.5:8080 failed: ECONNREFUSED'), detail: 'connect to 10.1.0.5:8080 failed: ECONNREFUSED', status: 503, reason: GENERIC_503 },
  { cause: 'upgrade: handshake failed', make: () => upstreamUnavailable('10.1.0.5:8080: handshake failed: socket hang up'), detail: '10.1.0.5:8080: handshake failed: socket hang up', status: 503, reason: GENERIC_503 },
  { cause: 'upgrade: no handshake answer', make: () => upstreamTimeout('10.1.0.5:8080: no handshake answer within 10000 ms'), detail: '10.1.0.5:8080: no handshake answer within 10000 ms', status: 504, reason: 'upstream request timeout' },
  { cause: 'internal proxy error (a bug)', make: () => internalError('internal proxy error'), detail: 'internal proxy error', status: 500, reason: 'internal error' },
];

describe('the public reason of each rejection', () => {
  for (const row of ROWS) {
    test(`${row.cause}: ${row.status} ${row.reason}`, () => {
      const rejection = row.make();
      assert.equal(rejection.detail, row.detail);
      const { res, written } = recorder();
      sendStatus(res, rejection);
      const w = written();
      assert.equal(w.status, row.status);
      assert.equal(w.headers['meshlet-reason'], row.reason);
      assert.equal(w.body, `${row.reason}\n`);
      if (row.status >= 500) assert.ok(!w.body.includes(row.detail), 'a 5xx never shows its log detail');
    });
  }

  test('gRPC callers read the same reason, in grpc-message too', () => {
    for (const row of ROWS.filter((r) => r.status >= 400)) {
      const { res, written } = recorder();
      sendGrpcStatus(res, row.make());
      const w = written();
      assert.equal(w.status, 200, row.cause);
      assert.equal(w.headers['meshlet-reason'], row.reason, row.cause);
      assert.equal(decodeURIComponent(w.headers['grpc-message']!), row.reason, row.cause);
    }
  });

  test('a refused WebSocket handshake says the same, in its raw HTTP/1.1 answer', () => {
    for (const row of ROWS.filter((r) => r.status >= 400)) {
      const raw = refusalBytes(row.make());
      assert.ok(raw.startsWith(`HTTP/1.1 ${row.status} `), row.cause);
      assert.ok(raw.endsWith(`\r\nconnection: close\r\n\r\n${row.reason}\n`), row.cause);
    }
  });

  test('a 5xx cannot pass for a client error (its detail would reach the client)', () => {
    assert.throws(() => clientError(503, 'connect to 10.1.0.5:8080 failed'), RangeError);
  });

  test('the header carries printable ASCII only, at most 200 characters', () => {
    const { res, written } = recorder();
    sendStatus(res, clientError(400, `bad host 'caf\u00e9' ${'x'.repeat(300)}`));
    const reason = written().headers['meshlet-reason']!;
    assert.equal(reason.length, 200);
    assert.ok(reason.startsWith("bad host 'caf?' xxx"), reason);
  });
});
