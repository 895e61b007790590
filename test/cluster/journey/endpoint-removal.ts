// How long a deleted pod's endpoint stays in a client proxy's table (journey step 7c): from when
// the pod is seen marked for deletion (its deletionTimestamp, polled) to when the client proxy's
// table in force no longer names its address (the proxy's own /config_dump appliedAt, this
// machine's clock). That is the window in which the client may still send to the old pod, which
// the default retry (ADR 0022) covers. Read only: the journey's assertions do not depend on it.
import type { BoxApi } from '../box/index.ts';
import { counterSamples, scrape } from './proxy-metrics.ts';
import { configDump, tableMentions } from './route-change.ts';

export interface EndpointRemoval {
  /** ms since epoch the pod was first seen marked for deletion (or gone), null if never in time. */
  deletionSeenAt: number | null;
  /** ms since epoch the client proxy applied a table without the pod's address, null if never in time. */
  removedAt: number | null;
}

/** Polls every `everyMs` until both moments are seen or `untilMs` (epoch ms) passes. */
export async function watchEndpointRemoval(api: BoxApi, ns: string, pod: string, podIp: string, clientIp: string, untilMs: number, everyMs = 100): Promise<EndpointRemoval> {
  const out: EndpointRemoval = { deletionSeenAt: null, removedAt: null };
  const named = `"address":"${podIp}"`;
  while (Date.now() < untilMs && (out.deletionSeenAt === null || out.removedAt === null)) {
    if (out.deletionSeenAt === null) {
      const res = await api.get(`/api/v1/namespaces/${ns}/pods/${pod}`).catch(() => null);
      const marked = res !== null && (res.status === 404 || Boolean((res.body as { metadata?: { deletionTimestamp?: string } }).metadata?.deletionTimestamp));
      if (marked) out.deletionSeenAt = Date.now();
    }
    if (out.removedAt === null) {
      const dump = await configDump(clientIp).catch(() => null);
      if (dump !== null && !tableMentions(dump, named)) out.removedAt = dump.appliedAt ? Date.parse(dump.appliedAt) : Date.now();
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return out;
}

/** One line for the test's output. */
export function describeRemoval(pod: string, r: EndpointRemoval): string {
  if (r.deletionSeenAt === null || r.removedAt === null) return `old pod ${pod}: deletion seen ${r.deletionSeenAt !== null}, endpoint removal seen ${r.removedAt !== null} (not both within the watch)`;
  return `old pod ${pod}: its endpoint left the client proxy's table ${r.removedAt - r.deletionSeenAt} ms after the pod was seen marked for deletion`;
}

/** The retries a proxy sent so far (meshlet_upstream_retries_total over every backend), null if unreadable. */
export async function retriesSent(podIp: string): Promise<number | null> {
  const text = await scrape(podIp).catch(() => null);
  return text === null ? null : counterSamples(text, 'meshlet_upstream_retries_total').reduce((sum, s) => sum + s.value, 0);
}
