// llhttp through Node's own C++ binding (`HTTPParser` from `node:_http_common`, the parser
// node:http runs). Undocumented but present in Node 24. Each callback crosses C++ → JS once per
// event: the head arrives as one array of strings, body pieces as Buffers. Heads longer than one
// read (or > 32 fields) arrive in parts through kOnHeaders and are joined here; kOnHeaders after
// the head carries trailers. Strict flags (no leniency), Node's default 16 KB head limit.
import { createRequire } from 'node:module';
import { LLHTTP_METHODS, type H1Handler, type H1Parser, type ParseError } from './parser.ts';

interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code: string; reason: string; bytesParsed: number });
  finish(): number | (Error & { code: string; reason: string }) | undefined;
  close(): void;
  [k: number]: unknown;
}
interface NativeParserClass { new(): NativeParser; REQUEST: number; RESPONSE: number; kOnHeaders: number; kOnHeadersComplete: number; kOnBody: number; kOnMessageComplete: number }

const { HTTPParser } = createRequire(import.meta.url)('node:_http_common') as { HTTPParser: NativeParserClass };
const RESOURCE = {};

class Native implements H1Parser {
  private readonly p: NativeParser;
  private readonly h: H1Handler;
  private partial: string[] = [];
  private partialUrl = '';
  private inBody = false;
  private readonly type: number;

  constructor(kind: 'request' | 'response', handler: H1Handler) {
    this.h = handler;
    this.p = new HTTPParser();
    this.type = kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE;
    this.p.initialize(this.type, RESOURCE, 0, 0);
    this.p[HTTPParser.kOnHeaders] = this.onHeaders.bind(this);
    this.p[HTTPParser.kOnHeadersComplete] = this.onHeadersComplete.bind(this);
    this.p[HTTPParser.kOnBody] = this.onBody.bind(this);
    this.p[HTTPParser.kOnMessageComplete] = this.onComplete.bind(this);
  }

  private onHeaders(fields: string[], url: string): void {
    if (this.inBody) { this.partial.push(...fields); return; }
    this.partial.push(...fields);
    this.partialUrl += url;
  }

  private onHeadersComplete(_maj: number, min: number, headers: string[] | undefined, method: number | undefined, url: string | undefined,
    status: number | undefined, reason: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    if (headers === undefined) { headers = this.partial; this.partial = []; }
    if (url === undefined) { url = this.partialUrl; this.partialUrl = ''; }
    this.inBody = true;
    return this.h.onHead(min, headers, method === undefined ? '' : (LLHTTP_METHODS[method] ?? ''), url, status ?? 0, reason ?? '', upgrade, keepAlive);
  }

  private onBody(piece: Buffer): void { this.h.onBody(piece); }

  private onComplete(): void {
    this.inBody = false;
    if (this.partial.length > 0) { const t = this.partial; this.partial = []; this.h.onTrailers(t); }
    this.h.onComplete();
  }

  execute(data: Buffer): ParseError | number | undefined {
    const r = this.p.execute(data);
    if (typeof r === 'number') return undefined;
    return r.code === 'HPE_PAUSED' ? r.bytesParsed : { code: r.code, reason: r.reason };
  }

  reset(): void {
    this.p.initialize(this.type, RESOURCE, 0, 0);
    this.inBody = false;
  }

  finish(): ParseError | undefined {
    const r = this.p.finish();
    return r === undefined || typeof r === 'number' ? undefined : { code: r.code, reason: r.reason };
  }

  close(): void { this.p.close(); }
}

export function nativeParser(kind: 'request' | 'response', handler: H1Handler): H1Parser {
  return new Native(kind, handler);
}
