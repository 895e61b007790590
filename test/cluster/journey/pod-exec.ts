// Requests from inside a pod, as `kubectl exec <pod> -- curl ...` would send them: a Node script
// run in the pod's network namespace (with its hosts file) as root, so the sidecar's iptables
// rules capture its traffic as they capture the app's.
import { execCommand } from '../../support/netns-exec.ts';
import type { Kubelet } from '../kubelet/index.ts';

export interface PodResponse {
  status: number;
  body: string;
  headers?: Record<string, string>;
  error?: string;
}

/** `count` sequential GETs of url from inside the pod; each answer or error, in order. */
export async function getFromPod(kubelet: Kubelet, ns: string, pod: string, url: string, count = 1, headers: Record<string, string> = {}): Promise<PodResponse[]> {
  const runner = kubelet.runner(ns, pod);
  if (!runner) throw new Error(`pod ${ns}/${pod} does not run on the test kubelet`);
  const script = `
const out = [];
for (let i = 0; i < ${count}; i++) {
  try {
    const r = await fetch(${JSON.stringify(url)}, { headers: ${JSON.stringify(headers)}, signal: AbortSignal.timeout(5000) });
    out.push({ status: r.status, headers: Object.fromEntries(r.headers), body: await r.text() });
  } catch (err) {
    out.push({ status: 0, body: '', error: String(err.cause ?? err) });
  }
}
process.stdout.write(JSON.stringify(out));`;
  const r = await execCommand(['ip', 'netns', 'exec', runner.ctx.net.netns, process.execPath, '--input-type=module', '-e', script], { timeoutMs: 10_000 + count * 6000 });
  return JSON.parse(r.stdout) as PodResponse[];
}

export interface EchoAnswer {
  pod: string;
  namespace: string;
  headers: Record<string, string[]>;
}

export const echoOf = (r: PodResponse): EchoAnswer => JSON.parse(r.body) as EchoAnswer;

export interface LoadReport {
  total: number;
  /** Answers by status code; 0 counts requests that got no HTTP answer. */
  byStatus: Record<string, number>;
  /** Answers by the echo pod that gave them. */
  byPod: Record<string, number>;
  /** The first few failures (non-200 or no answer), with when they happened (ms since start). */
  failures: { atMs: number; status: number; detail: string }[];
}

/**
 * Steady traffic from inside a pod: `concurrency` loops of sequential GETs of url for durationMs,
 * each loop starting a request at most every intervalMs, each request bounded by 5 s. Every
 * answer is counted; nothing is retried by the client.
 */
export async function loadFromPod(kubelet: Kubelet, ns: string, pod: string, url: string, durationMs: number, concurrency = 2, intervalMs = 0): Promise<LoadReport> {
  const runner = kubelet.runner(ns, pod);
  if (!runner) throw new Error(`pod ${ns}/${pod} does not run on the test kubelet`);
  const script = `
const start = Date.now();
const end = start + ${durationMs};
const report = { total: 0, byStatus: {}, byPod: {}, failures: [] };
const count = (map, key) => { map[key] = (map[key] ?? 0) + 1; };
async function loop() {
  while (Date.now() < end) {
    const next = Date.now() + ${intervalMs};
    let status = 0, detail = '';
    try {
      const r = await fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) });
      status = r.status;
      const body = await r.text();
      if (status === 200) count(report.byPod, JSON.parse(body).pod ?? '?');
      else detail = body.slice(0, 200);
    } catch (err) {
      detail = String(err.cause ?? err);
    }
    report.total++;
    count(report.byStatus, String(status));
    if (status !== 200 && report.failures.length < 10) report.failures.push({ atMs: Date.now() - start, status, detail });
    if (next > Date.now()) await new Promise((r) => setTimeout(r, next - Date.now()));
  }
}
await Promise.all(Array.from({ length: ${concurrency} }, loop));
process.stdout.write(JSON.stringify(report));`;
  const r = await execCommand(['ip', 'netns', 'exec', runner.ctx.net.netns, process.execPath, '--input-type=module', '-e', script], { timeoutMs: durationMs + 15_000 });
  return JSON.parse(r.stdout) as LoadReport;
}
