// llhttp compiled to WebAssembly, as undici ships it. undici exposes no public API for its
// parser: the module is reachable only by deep-importing `undici/lib/llhttp/llhttp_simd-wasm.js`
// (allowed because undici's package.json has no "exports" map, but an internal path that may
// move in any release). One instance serves every parser; input is copied into its memory per
// read, spans (URL, reason, field names and values) are decoded from that memory as latin1, and
// body pieces are copied out, since the memory is reused by the next read. Strict (no leniency).
import { createRequire } from 'node:module';
import { LLHTTP_METHODS, type H1Handler, type H1Parser, type ParseError } from './parser.ts';

interface LlhttpExports {
  memory: { buffer: ArrayBuffer };
  llhttp_alloc(type: number): number;
  llhttp_free(p: number): void;
  malloc(n: number): number;
  free(p: number): void;
  llhttp_execute(p: number, data: number, len: number): number;
  llhttp_reset(p: number): void;
  llhttp_get_error_pos(p: number): number;
  llhttp_finish(p: number): number;
  llhttp_get_method(p: number): number;
  llhttp_get_http_minor(p: number): number;
  llhttp_get_error_reason(p: number): number;
  llhttp_errno_name(e: number): number;
}

const HPE_PAUSED = 21;
const HPE_PAUSED_UPGRADE = 22;
const TYPE_REQUEST = 1;
const TYPE_RESPONSE = 2;

const parsers = new Map<number, Wasm>();
let mem: Buffer;
const wasmBytes = createRequire(import.meta.url)('undici/lib/llhttp/llhttp_simd-wasm.js') as Buffer;
// the project's TypeScript lib has no WebAssembly declarations; the two constructors used here
interface WasmApi { Module: new (bytes: Uint8Array) => object; Instance: new (m: object, imports: object) => { exports: unknown } }
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const instance = new WA.Instance(new WA.Module(wasmBytes), {
  env: {
    wasm_on_message_begin: (p: number) => parsers.get(p)!.onBegin(),
    wasm_on_url: (p: number, at: number, len: number) => { parsers.get(p)!.url += mem.toString('latin1', at, at + len); return 0; },
    wasm_on_status: (p: number, at: number, len: number) => { parsers.get(p)!.reason += mem.toString('latin1', at, at + len); return 0; },
    wasm_on_header_field: (p: number, at: number, len: number) => parsers.get(p)!.onField(mem.toString('latin1', at, at + len)),
    wasm_on_header_value: (p: number, at: number, len: number) => parsers.get(p)!.onValue(mem.toString('latin1', at, at + len)),
    wasm_on_headers_complete: (p: number, status: number, upgrade: number, keepAlive: number) => parsers.get(p)!.onHeadersComplete(status, upgrade === 1, keepAlive === 1),
    wasm_on_body: (p: number, at: number, len: number) => { parsers.get(p)!.h.onBody(Buffer.from(mem.subarray(at, at + len))); return 0; },
    wasm_on_message_complete: (p: number) => parsers.get(p)!.onMessageComplete(),
  },
});
const ll = instance.exports as LlhttpExports;
mem = Buffer.from(ll.memory.buffer);
let inPtr = 0;
let inSize = 0;

function cString(ptr: number): string {
  const end = mem.indexOf(0, ptr);
  return mem.toString('latin1', ptr, end < 0 ? ptr : end);
}

class Wasm implements H1Parser {
  readonly h: H1Handler;
  private readonly ptr: number;
  url = '';
  reason = '';
  private fields: string[] = [];
  private lastWasValue = false;
  private inBody = false;

  constructor(kind: 'request' | 'response', handler: H1Handler) {
    this.h = handler;
    this.ptr = ll.llhttp_alloc(kind === 'request' ? TYPE_REQUEST : TYPE_RESPONSE);
    parsers.set(this.ptr, this);
  }

  onBegin(): number {
    this.url = '';
    this.reason = '';
    this.fields = [];
    this.lastWasValue = false;
    this.inBody = false;
    return 0;
  }

  onField(s: string): number {
    // a span may arrive in pieces at read boundaries: a field after a value starts a new pair
    if (this.lastWasValue || this.fields.length === 0) { this.fields.push(s, ''); this.lastWasValue = false; } else this.fields[this.fields.length - 2] += s;
    return 0;
  }

  onValue(s: string): number {
    this.fields[this.fields.length - 1] += s;
    this.lastWasValue = true;
    return 0;
  }

  onHeadersComplete(status: number, upgrade: boolean, keepAlive: boolean): number {
    const fields = this.fields;
    this.fields = [];
    this.lastWasValue = false;
    this.inBody = true;
    const method = status === 0 ? (LLHTTP_METHODS[ll.llhttp_get_method(this.ptr)] ?? '') : '';
    return this.h.onHead(ll.llhttp_get_http_minor(this.ptr), fields, method, this.url, status, this.reason, upgrade, keepAlive);
  }

  onMessageComplete(): number {
    if (this.inBody && this.fields.length > 0) { const t = this.fields; this.fields = []; this.h.onTrailers(t); }
    this.inBody = false;
    this.h.onComplete();
    return 0;
  }

  private error(ret: number): ParseError | undefined {
    if (ret === 0 || ret === HPE_PAUSED_UPGRADE) return undefined;
    return { code: `HPE_${cString(ll.llhttp_errno_name(ret)).replace(/^HPE_/, '')}`, reason: cString(ll.llhttp_get_error_reason(this.ptr)) };
  }

  execute(data: Buffer): ParseError | number | undefined {
    if (data.length > inSize) {
      if (inPtr !== 0) ll.free(inPtr);
      inSize = Math.max(data.length, 64 * 1024);
      inPtr = ll.malloc(inSize);
    }
    if (mem.buffer !== ll.memory.buffer) mem = Buffer.from(ll.memory.buffer);
    mem.set(data, inPtr);
    const ret = ll.llhttp_execute(this.ptr, inPtr, data.length);
    return ret === HPE_PAUSED ? ll.llhttp_get_error_pos(this.ptr) - inPtr : this.error(ret);
  }

  reset(): void {
    ll.llhttp_reset(this.ptr);
    this.inBody = false;
  }

  finish(): ParseError | undefined { return this.error(ll.llhttp_finish(this.ptr)); }

  close(): void {
    parsers.delete(this.ptr);
    ll.llhttp_free(this.ptr);
  }
}

export function wasmParser(kind: 'request' | 'response', handler: H1Handler): H1Parser {
  return new Wasm(kind, handler);
}
