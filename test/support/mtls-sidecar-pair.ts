// Two sidecars across a mesh mTLS hop, as between two meshed pods: the client sidecar (identity
// default/productpage) routes Service `reviews` (10.96.0.20:9080, the original destination of
// every connection to its outbound port) to the server sidecar (default/reviews, STRICT), whose
// inbound side forwards to the app on loopback. Both on the HTTP/1.1 fast path, quiet logs, static
// tables. `via` puts something between the two (a counting relay) by naming the port the client
// should dial instead of the server's inbound port.
import type { CertificateAuthority } from '../../controller/identity/index.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { spiffeId } from '../../api/names.ts';
import { workloadCertificates } from './mesh-identity.ts';
import * as T from './routing-tables.ts';

const quiet = (): void => undefined;

export const REVIEWS = { host: 'reviews', clusterIP: '10.96.0.20', port: 9080, id: spiffeId('default', 'reviews') } as const;

export interface MtlsSidecarPair {
  client: RunningProxy;
  server: RunningProxy;
  /** Stops the client, then the server, then both certificate managers (the app is the caller's). */
  close(): Promise<void>;
}

export async function startMtlsSidecarPair(ca: CertificateAuthority, appPort: number, o: {
  pool?: Parameters<typeof startSidecar>[0]['pool'];
  via?: (serverInbound: number) => Promise<number> | number;
} = {}): Promise<MtlsSidecarPair> {
  const serverCerts = await workloadCertificates(ca, 'default', 'reviews');
  const clientCerts = await workloadCertificates(ca, 'default', 'productpage');
  const server = await startSidecar({
    namespace: 'default', source: new ManualTableSource(T.table({})), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, pool: o.pool,
    originalDestination: () => ({ address: '127.0.0.1', port: appPort }), identity: { certificates: serverCerts, mode: 'STRICT' }, h1Fast: true,
  });
  const port = o.via ? await o.via(server.ports.inbound!) : server.ports.inbound!;
  const be = T.backend('default', REVIEWS.host, REVIEWS.port, [{ port }]);
  be.endpoints = be.endpoints.map((e) => ({ ...e, identity: REVIEWS.id }));
  const client = await startSidecar({
    namespace: 'default', host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, pool: o.pool,
    source: new ManualTableSource(T.table({ backends: [be], services: [T.service({ name: REVIEWS.host, clusterIP: REVIEWS.clusterIP, port: REVIEWS.port, rules: [T.rule({ route: 'reviews', backends: [{ backend: be.name }] })] })] })),
    originalDestination: () => ({ address: REVIEWS.clusterIP, port: REVIEWS.port }), identity: { certificates: clientCerts }, h1Fast: true,
  });
  return {
    client, server,
    close: async () => {
      await client.close();
      await server.close();
      await clientCerts.stop();
      await serverCerts.stop();
    },
  };
}
