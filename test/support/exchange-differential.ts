// Whole-exchange differential run of the HTTP/1.1 fast path against the general path (issue 16,
// ADR 0017 item 7): two sidecars with the same routing table, one with `h1Fast` and one
// without, each in front of its own raw upstream on 127.0.0.1. Seeded requests (methods,
// HTTP/1.0 and 1.1, repeated and hop-by-hop fields, Connection-named fields, bodies by length
// (some past the 16 KB parser bypass) or chunked, Expect, TE) go to both on fresh client
// connections; the upstream answers each from a set of valid responses chosen by the request
// (Content-Length, chunked, chunked with trailers, until close, 204, 304, HEAD, 103 then final,
// Connection: close, repeated fields). Compared, after normalisation:
// - what the upstream received: method, target, the fields and the de-framed body;
// - what the client received: status, the fields, the de-framed body, and whether the
//   connection closes after the answer.
// Normalised, each for a stated reason: framing fields (each path writes its own), Connection
// and Keep-Alive (connection management: the general path's node:http adds Keep-Alive
// timeouts), repeated fields combined with ", " ("; " for Cookie) as RFC 9110 §5.3 allows (undici
// sends node:http's combined value, the fast path the fields as received), the reason phrase
// (node:http writes its own), Date (node:http adds one; the upstream here sends one, so only the
// added one differs), and what the fast path forwards by design and the general path drops for
// HTTP/1.1 clients: interim 1xx responses and trailers. One difference in connection handling is
// counted, not failed (`bodylessKeptAlive`): an HTTP/1.0 client asking for keep-alive gets a
// response without a body (HEAD, 204, 304), the general path's node:http closes the connection
// and the fast path keeps it (the end of such a response is known, RFC 9112 §6.3). Used by
// test/integration/fast-path-differential.test.ts (bounded, fixed seed) and by the longer run in
// bench/prototypes/h1-fast-differential.ts.
import net, { type AddressInfo } from 'node:net';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { LlhttpParser, SKIP_BODY } from '../../agent/engine/h1-fast/llhttp.ts';
import { prng } from './prng.ts';
import { backend, backendName, rule, service, table } from './routing-tables.ts';

const quiet = (): void => undefined;
const DATE = 'Sun, 06 Dec 2026 23:00:00 GMT';

/** What one side of an exchange looked like after normalisation (JSON-comparable). */
export interface Normalised {
  upstream: { method: string; target: string; fields: [string, string][]; body: string }[];
  client: { status: number; fields: [string, string][]; body: string; closes: boolean } | { status: 'none'; closes: boolean };
}

export interface Disagreement { n: number; request: string; fast: Normalised; general: Normalised }

export interface DifferentialResult {
  cases: number;
  disagreements: Disagreement[];
  /** How the cases spread: by client status class and by response variant. */
  tally: Record<string, number>;
}

// ---- responses the upstream sends, by variant ----

type Variant = 'cl' | 'chunked' | 'trailers' | 'until-close' | 'no-content' | 'not-modified' | 'close' | 'early-hints' | 'repeated' | 'not-found';
const VARIANTS: readonly Variant[] = ['cl', 'chunked', 'trailers', 'until-close', 'no-content', 'not-modified', 'close', 'early-hints', 'repeated', 'not-found'];

function answer(variant: Variant, method: string, bodyLength: number): { bytes: string; end: boolean } {
  const echo = `got ${method} ${bodyLength}`;
  const cl = (status: string, extra: string, body: string): string => `HTTP/1.1 ${status}\r\nDate: ${DATE}\r\n${extra}Content-Length: ${body.length}\r\n\r\n${method === 'HEAD' ? '' : body}`;
  switch (variant) {
    case 'cl': return { bytes: cl('200 OK', 'Content-Type: text/plain\r\nX-U: cl\r\n', echo), end: false };
    case 'chunked': return { bytes: `HTTP/1.1 201 Created\r\nDate: ${DATE}\r\nTransfer-Encoding: chunked\r\nX-U: chunked\r\n\r\n${method === 'HEAD' ? '' : `3\r\nabc\r\n${echo.length.toString(16)}\r\n${echo}\r\n0\r\n\r\n`}`, end: false };
    case 'trailers': return { bytes: `HTTP/1.1 200 OK\r\nDate: ${DATE}\r\nTransfer-Encoding: chunked\r\n\r\n${method === 'HEAD' ? '' : `${echo.length.toString(16)}\r\n${echo}\r\n0\r\nX-Checksum: 7\r\n\r\n`}`, end: false };
    case 'until-close': return { bytes: `HTTP/1.1 200 OK\r\nDate: ${DATE}\r\nX-U: until-close\r\n\r\n${method === 'HEAD' ? '' : `${echo} until the end`}`, end: true };
    case 'no-content': return { bytes: `HTTP/1.1 204 No Content\r\nDate: ${DATE}\r\nX-U: 204\r\n\r\n`, end: false };
    case 'not-modified': return { bytes: `HTTP/1.1 304 Not Modified\r\nDate: ${DATE}\r\nETag: "v1"\r\n\r\n`, end: false };
    case 'close': return { bytes: cl('200 OK', 'Connection: close\r\n', echo), end: true };
    case 'early-hints': return { bytes: `HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n${cl('200 OK', 'X-U: hinted\r\n', echo)}`, end: false };
    case 'repeated': return { bytes: cl('200 OK', 'Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nVary: accept\r\nVary: cookie\r\nCache-Control: no-store\r\nConnection: x-hop\r\nX-Hop: dropped\r\n', echo), end: false };
    case 'not-found': return { bytes: cl('404 Not Found', 'Content-Type: text/plain\r\n', 'no such thing'), end: false };
  }
}

// ---- the raw upstream: parses requests with llhttp, records them, answers by variant ----

interface Received { method: string; target: string; fields: string[]; body: Buffer[] }

class Upstream {
  readonly server: net.Server;
  readonly received: Received[] = [];

  constructor() {
    this.server = net.createServer((s) => this.#serve(s));
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  #serve(socket: net.Socket): void {
    socket.on('error', () => undefined);
    let current: Received | null = null;
    const parser = new LlhttpParser('request', {
      onHead: (_major, _minor, fields, method, target) => {
        current = { method, target, fields, body: [] };
        return 0;
      },
      onBody: (piece) => { current?.body.push(Buffer.from(piece)); },
      onTrailers: () => undefined,
      onComplete: () => {
        const r = current!;
        current = null;
        this.received.push(r);
        const variant = (/^\/c\d+\/([a-z-]+)/.exec(r.target)?.[1] ?? 'cl') as Variant;
        const length = r.body.reduce((n, b) => n + b.length, 0);
        const a = answer(VARIANTS.includes(variant) ? variant : 'cl', r.method, length);
        if (a.end) socket.end(a.bytes, 'latin1');
        else socket.write(a.bytes, 'latin1');
      },
    });
    socket.on('data', (d: Buffer) => {
      if (parser.execute(d).kind === 'error') socket.destroy();
    });
    socket.once('close', () => parser.close());
  }
}

// ---- seeded requests ----

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'];
const OPTIONAL_FIELDS = [
  'Accept: */*', 'User-Agent: differential/1', 'X-A: 1', 'X-A: 2', 'Cookie: c=1', 'Cookie: d=2', 'Accept-Encoding: gzip, br',
  'X-Empty:', 'X-Spaced:   padded   ', 'Keep-Alive: timeout=3', 'Via: 1.1 somewhere', 'Cache-Control: no-cache', 'X-Request-Id: fixed-1',
];

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)]!;
}

/** One seeded request: its bytes and its method (the client's parser needs to know HEAD). */
export function seededRequest(n: number, rnd: () => number): { bytes: Buffer; method: string; variant: Variant } {
  const minor = rnd() < 0.15 ? 0 : 1;
  const method = pick(rnd, METHODS);
  const variant = pick(rnd, VARIANTS);
  const query = rnd() < 0.4 ? `?q=${Math.floor(rnd() * 1000)}&x=a%20b` : '';
  const lines = [`${method} /c${n}/${variant}${query} HTTP/1.${minor}`, rnd() < 0.2 ? 'Host: a:80' : 'Host: a'];
  for (const f of OPTIONAL_FIELDS) if (rnd() < 0.25) lines.push(f);
  const conn = rnd();
  if (conn < 0.15) lines.push('Connection: close');
  else if (conn < 0.3) lines.push('Connection: keep-alive');
  else if (conn < 0.4) lines.push('Connection: x-hop', 'X-Hop: dropped');
  if (rnd() < 0.05) lines.push('Expect: 100-continue');
  if (rnd() < 0.05) lines.push('TE: trailers');
  let body = Buffer.alloc(0);
  const b = rnd();
  if (method === 'POST' || method === 'PUT' || method === 'PATCH' || b < 0.1) {
    const size = rnd() < 0.1 ? 16 * 1024 + Math.floor(rnd() * 20_000) : Math.floor(rnd() * 3_000);
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = 0x61 + ((i * 7 + n) % 26);
    if (minor === 1 && rnd() < 0.35) {
      lines.push('Transfer-Encoding: chunked');
      const parts: Buffer[] = [];
      let at = 0;
      while (at < size) {
        const len = Math.min(size - at, 1 + Math.floor(rnd() * 2_000));
        parts.push(Buffer.from(`${len.toString(16)}\r\n`), data.subarray(at, at + len), Buffer.from('\r\n'));
        at += len;
      }
      parts.push(Buffer.from('0\r\n\r\n'));
      body = Buffer.concat(parts);
    } else {
      lines.push(`Content-Length: ${size}`);
      body = data;
    }
  }
  return { bytes: Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]), method, variant };
}

// ---- normalisation ----

const DROP = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date']);

/** Lower-case names, repeated fields combined (RFC 9110 §5.3), sorted by name; framing and connection management dropped. */
export function normaliseFields(raw: readonly string[]): [string, string][] {
  const byName = new Map<string, string[]>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (DROP.has(name)) continue;
    const values = byName.get(name) ?? [];
    values.push(raw[i + 1]!.trim());
    byName.set(name, values);
  }
  return [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, values]): [string, string] => [name, name === 'set-cookie' ? values.join('\n') : values.join(name === 'cookie' ? '; ' : ', ')]);
}

/** The client's view: the final response (interim ones skipped) and whether the connection then closes. */
function readAnswer(socket: net.Socket, method: string, ms: number): Promise<Normalised['client']> {
  return new Promise((resolve) => {
    let final: { status: number; fields: string[] } | null = null;
    const body: Buffer[] = [];
    let complete = false;
    let closeField = false;
    const parser = new LlhttpParser('response', {
      onHead: (_major, _minor, fields, _m, _t, status) => {
        if (status >= 200) {
          final = { status, fields };
          closeField = fields.some((f, i) => i % 2 === 0 && f.toLowerCase() === 'connection' && /close/i.test(fields[i + 1]!));
        }
        return status >= 200 && method === 'HEAD' ? SKIP_BODY : 0;
      },
      onBody: (piece) => { if (final !== null) body.push(Buffer.from(piece)); },
      onTrailers: () => undefined,
      onComplete: () => { if (final !== null) { complete = true; settle(false); } },
    });
    let settled = false;
    const settle = (ended: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // a close-delimited answer completes when the connection ends
      if (ended && final !== null && !complete) complete = parser.finish().kind === 'ok';
      // never inside the parser's own callback: closing the native parser mid-execute crashes the process
      setImmediate(() => parser.close());
      socket.destroy();
      const f: { status: number; fields: string[] } | null = final;
      resolve(f === null || !complete ? { status: 'none', closes: true } : { status: f.status, fields: normaliseFields(f.fields), body: Buffer.concat(body).toString('latin1'), closes: closeField || ended });
    };
    const timer = setTimeout(() => settle(false), ms);
    socket.on('data', (d: Buffer) => { if (parser.execute(d).kind === 'error') settle(false); });
    socket.once('end', () => settle(true));
    socket.once('close', () => settle(true));
    socket.on('error', () => undefined);
  });
}

async function exchange(port: number, bytes: Buffer, method: string, ms: number): Promise<Normalised['client']> {
  const socket = net.connect(port, '127.0.0.1');
  const answered = readAnswer(socket, method, ms);
  socket.write(bytes);
  return answered;
}

function upstreamView(received: Received[], n: number): Normalised['upstream'] {
  return received.filter((r) => r.target.startsWith(`/c${n}/`)).map((r) => ({ method: r.method, target: r.target, fields: normaliseFields(r.fields), body: Buffer.concat(r.body).toString('latin1') }));
}

/** The one counted difference (see the header): everything equal but the fast path keeping a body-less HTTP/1.0 answer's connection. */
function bodylessKeptAlive(request: Buffer, fast: Normalised, general: Normalised): boolean {
  if (!/^[A-Z]+ \S+ HTTP\/1\.0\r\n/.test(request.toString('latin1', 0, 200))) return false;
  const f = fast.client;
  const g = general.client;
  if (f.status === 'none' || g.status === 'none' || f.closes || !g.closes || f.body !== '' || !(f.status === 204 || f.status === 304 || /^HEAD /.test(request.toString('latin1', 0, 5)))) return false;
  return JSON.stringify({ ...fast, client: { ...f, closes: true } }) === JSON.stringify(general);
}

// ---- the run ----

interface Side { upstream: Upstream; proxy: RunningProxy }

async function side(h1Fast: boolean): Promise<Side> {
  const upstream = new Upstream();
  const port = await upstream.listen();
  const source = new ManualTableSource();
  source.push(table({
    backends: [backend('default', 'a', 80, [{ port, podName: 'a-0' }])],
    services: [service({ name: 'a', clusterIP: '10.96.0.10', port: 80, rules: [rule({ route: 'plain', index: 0, path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: backendName('default', 'a', 80) }] })] })],
  }));
  const proxy = await startSidecar({
    namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
    originalDestination: () => ({ address: '10.96.0.10', port: 80 }), log: quiet, h1Fast,
  });
  return { upstream, proxy };
}

async function stop(s: Side): Promise<void> {
  await s.proxy.close();
  await new Promise<void>((r) => s.upstream.server.close(() => r()));
}

/** Runs `cases` seeded exchanges (or until `budgetMs` is spent) through both paths and compares them. */
export async function runExchangeDifferential(o: { seed: number; cases: number; budgetMs: number; answerMs?: number }): Promise<DifferentialResult> {
  const [fast, general] = await Promise.all([side(true), side(false)]);
  const rnd = prng(o.seed);
  const started = Date.now();
  const disagreements: Disagreement[] = [];
  const tally: Record<string, number> = {};
  let n = 0;
  try {
    for (; n < o.cases && Date.now() - started < o.budgetMs; n++) {
      const req = seededRequest(n, rnd);
      const [f, g] = await Promise.all([
        exchange(fast.proxy.ports.outbound!, req.bytes, req.method, o.answerMs ?? 3_000),
        exchange(general.proxy.ports.outbound!, req.bytes, req.method, o.answerMs ?? 3_000),
      ]);
      const fastView: Normalised = { upstream: upstreamView(fast.upstream.received, n), client: f };
      const generalView: Normalised = { upstream: upstreamView(general.upstream.received, n), client: g };
      if (bodylessKeptAlive(req.bytes, fastView, generalView)) tally.bodylessKeptAlive = (tally.bodylessKeptAlive ?? 0) + 1;
      else if (JSON.stringify(fastView) !== JSON.stringify(generalView)) disagreements.push({ n, request: req.bytes.toString('latin1').slice(0, 600), fast: fastView, general: generalView });
      const status = typeof g.status === 'number' ? `${Math.floor(g.status / 100)}xx` : 'no answer';
      tally[status] = (tally[status] ?? 0) + 1;
      tally[req.variant] = (tally[req.variant] ?? 0) + 1;
    }
  } finally {
    await Promise.all([stop(fast), stop(general)]);
  }
  return { cases: n, disagreements, tally };
}
