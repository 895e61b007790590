// A GET that keeps what the KubeClient drops: the status, the Date header and a non-JSON body
// (the controller's Prometheus text through the pod proxy). Authentication is client-node's.
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { fetch } from 'undici';
import type { KubeClient } from '../../controller/provider/kubernetes/index.ts';

export interface RawResponse { status: number; date: string | null; text: string }

export async function rawGet(client: KubeClient, path: string): Promise<RawResponse> {
  const url = `${client.server}${path}`;
  const ctx = new RequestContext(url, HttpMethod.GET);
  await client.config.applySecurityAuthentication(ctx);
  const res = await fetch(url, { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher(), signal: AbortSignal.timeout(client.timeoutMs) });
  return { status: res.status, date: res.headers.get('date'), text: await res.text() };
}
