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
