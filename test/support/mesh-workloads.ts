// Two workloads of one test mesh for a describe block of integration tests: reviews (the server)
// and productpage (the client), their certificates issued in its `before` and stopped in its
// `after`, and a reviews pod's sidecar delivering to an app port (PERMISSIVE: a test may also
// call its inbound in plaintext). Shared by the retry and keep-alive race tests, which each
// build their own client sidecar around `client()`.
import { after, before } from 'node:test';
import type { CertificateManager } from '../../agent/identity/index.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { testMeshCa, workloadCertificates } from './mesh-identity.ts';
import * as T from './routing-tables.ts';

export interface MeshWorkloads {
  /** productpage's certificates (valid once the describe's `before` ran). */
  client: () => CertificateManager;
  /** A reviews pod's sidecar delivering to `appPort` on loopback, closed by `cleanups`. */
  serverSidecar: (appPort: number) => Promise<RunningProxy>;
}

/** Call inside a `describe`: registers the certificates' before/after hooks on it. */
export function meshWorkloads(o: { h1Fast: boolean; cleanups: (() => Promise<void> | void)[] }): MeshWorkloads {
  const ca = testMeshCa();
  let serverCerts: CertificateManager | undefined;
  let clientCerts: CertificateManager | undefined;
  before(async () => {
    serverCerts = await workloadCertificates(ca, 'default', 'reviews');
    clientCerts = await workloadCertificates(ca, 'default', 'productpage');
  });
  after(async () => {
    await clientCerts?.stop();
    await serverCerts?.stop();
  });
  return {
    client: () => clientCerts!,
    serverSidecar: async (appPort) => {
      const proxy = await startSidecar({
        namespace: 'default', source: new ManualTableSource(T.table({})), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: () => undefined,
        originalDestination: () => ({ address: '127.0.0.1', port: appPort }), identity: { certificates: serverCerts! }, h1Fast: o.h1Fast,
      });
      o.cleanups.push(() => proxy.close());
      return proxy;
    },
  };
}
