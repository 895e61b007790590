// RequestMirror: a fire-and-forget copy of the request to another backend. The copy carries
// the body only when it was buffered (it fits the retry bound); a streamed body cannot be
// duplicated without holding it, so such requests are not mirrored. The mirror's response is
// drained and dropped; its failures are logged, never seen by the client.
import type { BackendIR } from '../../api/routing-table.ts';
import type { MirrorDecision } from '../route/types.ts';
import type { EndpointBalancer } from '../balance/endpoint-balancer.ts';
import type { UpstreamPools } from './pools.ts';
import type { BodySource } from './request-body.ts';
import { sendH1 } from './send-h1.ts';
import { sendH2 } from './send-h2.ts';
import type { Headers } from './hop-by-hop.ts';
import { upstreamHeaders } from './upstream-protocol.ts';
import { isMutualTls } from './connect.ts';
import { markPeerWorkload } from '../telemetry/peer-workload.ts';
import type { UpstreamProtocol } from './upstream-types.ts';
import type { RequestEvent } from '../telemetry/events.ts';
import { endAttemptEvent, startAttemptEvent } from '../telemetry/build-events.ts';

export interface MirrorRequest {
  /** The rule that asked for the mirror (for once-per-rule log lines). */
  rule?: string | null;
  method: string;
  authority: string;
  pathAndQuery: string;
  /** Request headers before upstream adjustment (done per mirror, by its protocol). */
  headers: Headers;
  body: BodySource;
  /** HTTP/2 for gRPC and h2c backends, as for the main request. */
  protocolFor: (backend: BackendIR) => UpstreamProtocol;
}

export interface MirrorDeps {
  pools: UpstreamPools;
  balancer: EndpointBalancer;
  backends: ReadonlyMap<string, BackendIR>;
  log: (msg: string) => void;
  /** Logs `msg` the first time `key` is seen (defaults to log). */
  logOnce?: (key: string, msg: string) => void;
  random?: () => number;
  timeoutMs?: number;
  /** The mirrored request's telemetry event: each mirror is published as an attempt. */
  event?: RequestEvent | null;
}

export function fireMirrors(deps: MirrorDeps, mirrors: readonly MirrorDecision[], req: MirrorRequest): void {
  if (mirrors.length === 0) return;
  if (req.body.kind === 'stream') {
    // Once per rule: a streaming service would otherwise log on every request.
    const key = req.rule ?? req.pathAndQuery;
    const msg = `not mirroring requests of ${key}: their body is streamed (unknown length or over the buffer bound)`;
    if (deps.logOnce) deps.logOnce(`mirror:${key}`, msg);
    else deps.log(msg);
    return;
  }
  const random = deps.random ?? Math.random;
  for (const m of mirrors) {
    if (m.percent < 100 && random() * 100 >= m.percent) continue;
    const backend = deps.backends.get(m.backend);
    const endpoint = backend ? deps.balancer.pick(backend) : null;
    if (!backend || !endpoint) {
      deps.log(`mirror to ${m.backend} skipped: no ready endpoint`);
      continue;
    }
    const signal = AbortSignal.timeout(deps.timeoutMs ?? 10_000);
    const protocol = req.protocolFor(backend);
    const send = protocol === 'h2' ? sendH2 : sendH1;
    const headers = upstreamHeaders(req.headers, protocol);
    markPeerWorkload(headers, isMutualTls(endpoint, deps.pools.connectOptions));
    const request = { method: req.method, authority: req.authority, pathAndQuery: req.pathAndQuery, headers, body: req.body, signal };
    // One object for the send and the event's view of it (method, authority, path, headers).
    const ev = deps.event ? startAttemptEvent(deps.event, 1, true, backend.name, endpoint, request) : null;
    send(deps.pools, endpoint, request)
      .then((res) => {
        if (ev) endAttemptEvent(ev, res.status, null);
        res.body.resume();
        res.body.on('error', () => undefined);
      })
      .catch((err: unknown) => {
        if (ev) endAttemptEvent(ev, 503, (err as Error).message);
        deps.log(`mirror to ${m.backend} failed: ${(err as Error).message}`);
      });
  }
}
