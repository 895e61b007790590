// Two sidecars in a row, as between two meshed pods: a client on A's outbound port asking for
// Service `sink` (10.96.0.99:80, the original destination of every connection to A) is sent to
// B's inbound port, which forwards to the app on loopback (the "pod IP" of B). Plaintext hop,
// static routing tables, quiet logs: for tests of what the two hops do to bytes in flight.
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { backend, service, table } from './routing-tables.ts';

const quiet = (): void => undefined;

export interface SidecarChain {
  /** The client side: send requests to `a.ports.outbound` with Host `sink`. */
  a: RunningProxy;
  /** The server side, in front of the app. */
  b: RunningProxy;
  /** Stops A, then B (the app is the caller's). */
  close(): Promise<void>;
}

export const SINK = { host: 'sink', clusterIP: '10.96.0.99', port: 80 } as const;

export async function startSidecarChain(appPort: number): Promise<SidecarChain> {
  const b = await startSidecar({
    namespace: 'default', source: new ManualTableSource(table({})), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
    originalDestination: () => ({ address: '127.0.0.1', port: appPort }), log: quiet,
  });
  const a = await startSidecar({
    namespace: 'default', host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
    source: new ManualTableSource(table({
      backends: [backend('default', SINK.host, SINK.port, [{ port: b.ports.inbound! }])],
      services: [service({ name: SINK.host, clusterIP: SINK.clusterIP, port: SINK.port })],
    })),
    originalDestination: () => ({ address: SINK.clusterIP, port: SINK.port }),
  });
  return {
    a, b,
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}
