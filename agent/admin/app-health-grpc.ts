// grpc probes: one unary call of grpc.health.v1.Health/Check over cleartext HTTP/2, as the
// kubelet makes it (k8s.io/kubernetes pkg/probe/grpc): SERVING passes, any other status or an
// RPC error fails. The framing is written here rather than taken from @grpc/grpc-js: the call
// is one request message with one string field and one reply with one enum field, node:http2
// carries everything else, and the sidecar would otherwise load a gRPC stack (and proto
// tooling) for this alone.
import type http2 from 'node:http2';
import { hostPort, type ProbeOutcome, type ProbeTarget } from './app-health-types.ts';

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
/** grpc.health.v1.HealthCheckResponse.ServingStatus. */
export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;
const GRPC_UNIMPLEMENTED = 12;

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/** A length-prefixed HealthCheckRequest { string service = 1 } (empty service: empty message). */
export function encodeHealthRequest(service: string): Buffer {
  const svc = Buffer.from(service, 'utf8');
  const msg = svc.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(svc.length), svc]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  for (let shift = 0, i = at; i < buf.length && shift < 35; shift += 7, i++) {
    value += (buf[i]! & 0x7f) * 2 ** shift;
    if ((buf[i]! & 0x80) === 0) return [value, i + 1];
  }
  throw new Error('truncated varint');
}

/** The ServingStatus in a length-prefixed HealthCheckResponse; unknown fields are skipped. */
export function decodeHealthResponse(body: Buffer): number {
  if (body.length < 5) throw new Error(`reply of ${body.length} bytes has no message`);
  if (body[0] !== 0) throw new Error('reply is compressed, and none was asked for');
  const end = 5 + body.readUInt32BE(1);
  if (body.length < end) throw new Error('reply message is truncated');
  let status = 0;
  for (let at = 5; at < end;) {
    const [tag, next] = readVarint(body, at);
    at = next;
    const wire = tag & 7;
    if (wire === 0) {
      const [v, after] = readVarint(body, at);
      if (tag >>> 3 === 1) status = v;
      at = after;
    } else if (wire === 2) {
      const [len, after] = readVarint(body, at);
      at = after + len;
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
    } else {
      throw new Error(`reply has a field of wire type ${wire}`);
    }
  }
  return status;
}

function verdict(httpStatus: number, grpcStatus: string | undefined, grpcMessage: string, body: Buffer): ProbeOutcome {
  if (httpStatus !== 200) return { ok: false, reason: `HTTP status ${httpStatus}` };
  const code = Number(grpcStatus ?? NaN);
  if (code === GRPC_UNIMPLEMENTED) return { ok: false, reason: `the server does not implement the gRPC health protocol (grpc.health.v1.Health): ${grpcMessage}` };
  if (code !== 0) return { ok: false, reason: `rpc error: grpc-status ${grpcStatus ?? 'missing'} ${grpcMessage}`.trimEnd() };
  const status = decodeHealthResponse(body);
  const name = SERVING_STATUS[status] ?? String(status);
  return status === 1 ? { ok: true, reason: 'SERVING' } : { ok: false, reason: `service unhealthy (responded with "${name}")` };
}

export function probeGrpc(service: string, t: ProbeTarget): Promise<ProbeOutcome> {
  const authority = hostPort(t.host, t.port);
  const label = `grpc ${authority}${service === '' ? '' : ` service '${service}'`}`;
  return new Promise((resolve) => {
    // node:http2 (~4 MB RSS) is loaded with the first gRPC probe, not with the admin server (ADR 0012).
    const session = process.getBuiltinModule('node:http2').connect(`http://${authority}`);
    const finish = (o: ProbeOutcome): void => {
      clearTimeout(timer);
      session.destroy();
      resolve({ ok: o.ok, reason: `${label}: ${o.reason}` });
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `no answer within ${t.timeoutMs} ms` }), t.timeoutMs);
    session.on('error', (err: Error) => finish({ ok: false, reason: err.message }));
    const stream = session.request({
      ':method': 'POST', ':path': HEALTH_CHECK_PATH, 'content-type': 'application/grpc', 'te': 'trailers',
      'grpc-timeout': `${t.timeoutMs}m`, 'user-agent': t.userAgent ?? 'kube-probe',
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h: http2.IncomingHttpHeaders) => (headers = h));
    stream.on('trailers', (h: http2.IncomingHttpHeaders) => (trailers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err: Error) => finish({ ok: false, reason: err.message }));
    stream.on('end', () => {
      // A trailers-only reply (an error) carries grpc-status in the headers.
      const pick = (name: string): string | undefined => (trailers[name] ?? headers[name]) as string | undefined;
      try {
        finish(verdict(Number(headers[':status'] ?? 0), pick('grpc-status'), decodeURIComponent(pick('grpc-message') ?? ''), Buffer.concat(chunks)));
      } catch (err) {
        finish({ ok: false, reason: (err as Error).message });
      }
    });
    stream.end(encodeHealthRequest(service));
  });
}
