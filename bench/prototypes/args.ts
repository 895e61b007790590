// Shared by the prototypes: `--port P --upstream U`, and the hop-by-hop header list (RFC 9110
// §7.6.1) every HTTP-level proxy must drop in both directions.
import { parseArgs } from 'node:util';

export function ports(): { port: number; upstream: number } {
  const { values } = parseArgs({ options: { port: { type: 'string' }, upstream: { type: 'string' } } });
  return { port: Number(values.port), upstream: Number(values.upstream) };
}

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

export function endToEnd(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}
