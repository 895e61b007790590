// Shared by the distribution-*.test.ts files: a real Publisher on a loopback port, sidecars fed
// by ControllerClients, echo servers as workloads, and bounded polling. Every sidecar's
// outbound connections look as if the app dialled `dest` (no iptables needed).
import type { RoutingTable } from '../../api/routing-table.ts';
import { ControllerClient } from '../../agent/controller-client/index.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { Publisher } from '../../controller/publish/index.ts';
import { send, type SimpleResponse } from '../support/http-client.ts';
import { backend, backendName, rule, service, table } from '../support/routing-tables.ts';

export const quiet = (): void => undefined;

export interface MeshAgent {
  pod: string;
  client: ControllerClient;
  proxy: RunningProxy;
  logs: string[];
  /** One request through the sidecar's outbound port to `dest`. */
  get(path?: string): Promise<SimpleResponse>;
  close(): Promise<void>;
}

export async function startAgent(opts: {
  url: string;
  pod: string;
  namespace?: string;
  dest: { address: string; port: number };
  onDemandTimeoutMs?: number;
}): Promise<MeshAgent> {
  const logs: string[] = [];
  const log = (l: string): void => void logs.push(l);
  const namespace = opts.namespace ?? 'default';
  const client = new ControllerClient({
    url: opts.url,
    agent: { pod: opts.pod, namespace, serviceAccount: 'default', mode: 'sidecar' },
    backoff: { initialMs: 50, maxMs: 200 },
    onDemandTimeoutMs: opts.onDemandTimeoutMs ?? 1_000,
    log,
  }).start();
  await client.ready(5_000);
  const proxy = await startSidecar({
    namespace, source: client, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
    originalDestination: () => opts.dest, explicit: false, log,
    onUnknownDestination: (address, port) => client.ensureDestination(address, port),
  });
  return {
    pod: opts.pod, client, proxy, logs,
    get: (path = '/') => send({ port: proxy.ports.outbound!, path, authority: `${opts.dest.address}:${opts.dest.port}`, timeoutMs: 5_000 }),
    close: async () => {
      await proxy.close();
      client.close();
    },
  };
}

/** Polls `check` every 20 ms until it returns true; fails after `ms`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** reviews (10.96.0.10:80) routed by HTTPRoute default/reviews to the backend `to`. */
export function reviewsTable(to: 'v1' | 'v2', ports: { v1: number; v2: number }, extraServices = 0): RoutingTable {
  const filler = Array.from({ length: extraServices }, (_, i) => service({ name: `filler-${String(i).padStart(4, '0')}`, clusterIP: `10.97.${Math.floor(i / 250)}.${(i % 250) + 1}`, port: 80 }));
  const fillerBackends = Array.from({ length: extraServices }, (_, i) => backend('default', `filler-${String(i).padStart(4, '0')}`, 80, [{ port: 1 }]));
  return table({
    services: [
      service({ name: 'reviews', clusterIP: '10.96.0.10', port: 80, rules: [rule({ route: 'reviews', backends: [{ backend: backendName('default', `reviews-${to}`, 80) }] })] }),
      ...filler,
    ],
    backends: [
      backend('default', 'reviews', 80, [{ port: ports.v1 }]),
      backend('default', 'reviews-v1', 80, [{ port: ports.v1, podName: 'reviews-v1-0' }]),
      backend('default', 'reviews-v2', 80, [{ port: ports.v2, podName: 'reviews-v2-0' }]),
      ...fillerBackends,
    ],
  });
}

export async function startPublisher(port = 0, logs: string[] = []): Promise<Publisher> {
  return Publisher.start({ host: '127.0.0.1', port, log: (l) => void logs.push(l), heartbeatMs: 1_000 });
}

/**
 * A transparent-mode sidecar (original destination from `destination()`) fed by a controller
 * client of the publisher on `pubPort`, asking it on demand about destinations with a 300 ms
 * bound: the world of the fail-closed tests. `ask` wraps the client's answer (to record asks).
 */
export async function onDemandSidecar(pubPort: number, o: {
  destination: () => { address: string; port: number };
  log: (line: string) => void;
  ask?: (address: string, port: number, answer: () => Promise<boolean>) => Promise<boolean>;
  clusterNetworks?: Parameters<typeof startSidecar>[0]['clusterNetworks'];
}): Promise<{ client: ControllerClient; proxy: RunningProxy }> {
  const client = new ControllerClient({
    url: `ws://127.0.0.1:${pubPort}`,
    agent: { pod: 'client', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    backoff: { initialMs: 50, maxMs: 200 }, onDemandTimeoutMs: 300, log: o.log,
  }).start();
  await client.ready(5_000);
  const answer = (address: string, port: number): Promise<boolean> => client.ensureDestination(address, port);
  const proxy = await startSidecar({
    namespace: 'default', source: client, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
    originalDestination: o.destination, explicit: false, log: o.log,
    onUnknownDestination: (address, port) => (o.ask ? o.ask(address, port, () => answer(address, port)) : answer(address, port)),
    ...(o.clusterNetworks ? { clusterNetworks: o.clusterNetworks } : {}),
  });
  return { client, proxy };
}
