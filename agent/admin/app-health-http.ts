// httpGet probes, run as the kubelet runs them (k8s.io/kubernetes pkg/probe/http): GET without
// keep-alive, TLS certificates not verified for HTTPS, the kubelet's User-Agent and Accept unless
// the probe sets its own headers (a Host header sets the authority), success for 200-399.
// Redirects to the same host are followed (at most 10); a redirect elsewhere ends the probe
// with the 3xx, which counts as success, because that is what the kubelet does.
import type httpTypes from 'node:http';
import https from 'node:https';
import type { AppProber } from '../../api/pod-env.ts';
import { hostPort, type ProbeOutcome, type ProbeTarget } from './app-health-types.ts';

// node:http through process.getBuiltinModule, not `import`: an ES import of node:http builds its
// namespace by reading every export, and the lazy WebSocket/CloseEvent/MessageEvent getters among
// them load Node's bundled undici, http2, zlib and more: +13 MB RSS in an idle process (ADR 0012).
const http: typeof httpTypes = process.getBuiltinModule('node:http');

type HttpGet = NonNullable<AppProber['httpGet']>;

const MAX_REDIRECTS = 10;

function requestHeaders(action: HttpGet, t: ProbeTarget): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { 'user-agent': t.userAgent ?? 'kube-probe', 'accept': t.accept ?? '*/*' };
  const own = new Map<string, string[]>();
  for (const h of action.httpHeaders ?? []) {
    const name = h.name.toLowerCase();
    own.set(name, [...own.get(name) ?? [], h.value]);
  }
  // The probe's headers replace the defaults; a name given twice sends both values, except
  // Host, which is the request's authority (the last one wins, as in the kubelet).
  for (const [name, values] of own) out[name] = name === 'host' ? values.at(-1)! : values.length === 1 ? values[0]! : values;
  return out;
}

function get(url: URL, headers: Record<string, string | string[]>, signal: AbortSignal): Promise<{ status: number; location: string | undefined }> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: 'GET', headers, agent: false, signal, rejectUnauthorized: false }, (res) => {
      // Only the status matters; the body is not waited for (a stream must not hold the probe).
      resolve({ status: res.statusCode ?? 0, location: res.headers.location });
      res.destroy();
    });
    req.once('error', reject);
    req.end();
  });
}

export async function probeHttp(action: HttpGet, t: ProbeTarget): Promise<ProbeOutcome> {
  const scheme = action.scheme === 'HTTPS' ? 'https' : 'http';
  const path = action.path ?? '/';
  let url = new URL(`${scheme}://${hostPort(t.host, t.port)}${path.startsWith('/') ? path : `/${path}`}`);
  const first = url.hostname;
  const headers = requestHeaders(action, t);
  const signal = AbortSignal.timeout(t.timeoutMs);
  try {
    for (let redirects = 0; ; redirects++) {
      const { status, location } = await get(url, headers, signal);
      const said = `GET ${url.href}: HTTP ${status}`;
      if (status >= 300 && status < 400 && location !== undefined) {
        const next = new URL(location, url);
        if (next.hostname !== first) return { ok: true, reason: `${said}, redirect to another host (${next.host}) not followed` };
        if (redirects >= MAX_REDIRECTS) return { ok: false, reason: `${said}: stopped after ${MAX_REDIRECTS} redirects` };
        url = next;
        continue;
      }
      return { ok: status >= 200 && status < 400, reason: said };
    }
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'AbortError' || e.name === 'TimeoutError' ? `no answer within ${t.timeoutMs} ms` : e.message;
    return { ok: false, reason: `GET ${url.href}: ${why}` };
  }
}
