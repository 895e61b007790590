// A reader of OTLP/protobuf trace export requests for the tests' collectors: the wire format
// (varints, fixed64/32, length-delimited fields) and the field numbers of
// opentelemetry/proto/collector/trace/v1 ExportTraceServiceRequest, decoded into the shape of
// the OTLP/JSON protocol (hex IDs, `{ key, value: { stringValue | intValue | ... } }`
// attributes), so a test reads both protocols the same way. Independent of meshlet's encoder
// and the SDK's serializer: it is what a collector would do with the bytes.

export interface OtlpAttribute { key: string; value: Record<string, unknown> }
export interface OtlpSpanJson {
  traceId: string; spanId: string; parentSpanId?: string; traceState?: string; name: string; kind: number;
  startTimeUnixNano: bigint; endTimeUnixNano: bigint; attributes: OtlpAttribute[]; status?: { code?: number; message?: string }; flags?: number;
}
export interface OtlpTraceRequest {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { scope: { name: string; version?: string }; spans: OtlpSpanJson[] }[] }[];
}

class Reader {
  readonly buf: Buffer;
  readonly end: number;
  pos = 0;
  constructor(buf: Buffer, end = buf.length) {
    this.buf = buf;
    this.end = end;
  }
  varint(): bigint {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (this.pos >= this.end || shift > 63n) throw new Error('bad varint');
      const b = this.buf[this.pos++]!;
      v |= BigInt(b & 127) << shift;
      if (b < 128) return v;
    }
  }
  /** Each field: its number, wire type and (for length-delimited) a reader of its body. */
  *fields(): Generator<{ field: number; wire: number; value: bigint | Reader | Buffer }> {
    while (this.pos < this.end) {
      const t = Number(this.varint());
      const field = t >> 3;
      const wire = t & 7;
      if (wire === 0) yield { field, wire, value: this.varint() };
      else if (wire === 1) { const v = this.buf.readBigUInt64LE(this.pos); this.pos += 8; yield { field, wire, value: v }; }
      else if (wire === 5) { const v = BigInt(this.buf.readUInt32LE(this.pos)); this.pos += 4; yield { field, wire, value: v }; }
      else if (wire === 2) {
        const len = Number(this.varint());
        if (this.pos + len > this.end) throw new Error('length past the end');
        const body = new Reader(this.buf.subarray(0, this.pos + len), this.pos + len);
        body.pos = this.pos;
        this.pos += len;
        yield { field, wire, value: body };
      } else throw new Error(`wire type ${wire}`);
    }
  }
  text(): string { return this.buf.toString('utf8', this.pos, this.end); }
  hex(): string { return this.buf.toString('hex', this.pos, this.end); }
}

const int64 = (v: bigint): number => Number(BigInt.asIntN(64, v));

function anyValue(r: Reader): Record<string, unknown> {
  for (const f of r.fields()) {
    if (f.field === 1) return { stringValue: (f.value as Reader).text() };
    if (f.field === 2) return { boolValue: f.value !== 0n };
    if (f.field === 3) return { intValue: int64(f.value as bigint) };
    if (f.field === 4) { const b = Buffer.alloc(8); b.writeBigUInt64LE(f.value as bigint); return { doubleValue: b.readDoubleLE() }; }
    return { unknownField: f.field };
  }
  return {};
}

function keyValue(r: Reader): OtlpAttribute {
  let key = '';
  let value: Record<string, unknown> = {};
  for (const f of r.fields()) {
    if (f.field === 1) key = (f.value as Reader).text();
    else if (f.field === 2) value = anyValue(f.value as Reader);
  }
  return { key, value };
}

function span(r: Reader): OtlpSpanJson {
  const s: OtlpSpanJson = { traceId: '', spanId: '', name: '', kind: 0, startTimeUnixNano: 0n, endTimeUnixNano: 0n, attributes: [] };
  for (const f of r.fields()) {
    const body = f.value as Reader;
    switch (f.field) {
      case 1: s.traceId = body.hex(); break;
      case 2: s.spanId = body.hex(); break;
      case 3: s.traceState = body.text(); break;
      case 4: s.parentSpanId = body.hex(); break;
      case 5: s.name = body.text(); break;
      case 6: s.kind = Number(f.value); break;
      case 7: s.startTimeUnixNano = f.value as bigint; break;
      case 8: s.endTimeUnixNano = f.value as bigint; break;
      case 9: s.attributes.push(keyValue(body)); break;
      case 15: {
        const st: { code?: number; message?: string } = {};
        for (const g of body.fields()) {
          if (g.field === 2) st.message = (g.value as Reader).text();
          if (g.field === 3) st.code = Number(g.value);
        }
        s.status = st;
        break;
      }
      case 16: s.flags = Number(f.value); break;
      default: break;
    }
  }
  return s;
}

/** Decodes an ExportTraceServiceRequest; throws on bytes that are not one. */
export function decodeTraceRequest(bytes: Uint8Array): OtlpTraceRequest {
  const out: OtlpTraceRequest = { resourceSpans: [] };
  for (const rsField of new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).fields()) {
    if (rsField.field !== 1) continue;
    const rs: OtlpTraceRequest['resourceSpans'][number] = { resource: { attributes: [] }, scopeSpans: [] };
    for (const f of (rsField.value as Reader).fields()) {
      if (f.field === 1) {
        for (const g of (f.value as Reader).fields()) if (g.field === 1) rs.resource.attributes.push(keyValue(g.value as Reader));
      } else if (f.field === 2) {
        const ss: OtlpTraceRequest['resourceSpans'][number]['scopeSpans'][number] = { scope: { name: '' }, spans: [] };
        for (const g of (f.value as Reader).fields()) {
          if (g.field === 1) {
            for (const h of (g.value as Reader).fields()) {
              if (h.field === 1) ss.scope.name = (h.value as Reader).text();
              if (h.field === 2) ss.scope.version = (h.value as Reader).text();
            }
          } else if (g.field === 2) ss.spans.push(span(g.value as Reader));
        }
        rs.scopeSpans.push(ss);
      }
    }
    out.resourceSpans.push(rs);
  }
  return out;
}
