// A controller holding the mesh CA on a fake API server, for the identity tests: namespace
// `shop` (injection enabled) with pods reviews-0 and productpage-0 (service accounts reviews
// and productpage), Service reviews (10.96.0.30:9080) whose one endpoint is 127.0.0.1 on a port
// chosen up front (`reviewsInbound`, for the reviews sidecar's inbound side), TokenReview
// answers for the tokens `tok-reviews` and `tok-productpage`, and a directory holding the root
// bundle and the two token files. `agent()` starts a sidecar fed by the controller over wss://
// with a certificate for its service account's token.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateManager } from '../../agent/identity/index.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { controllerSource, workloadCertificates } from '../../cli/controller-source.ts';
import { withTokenReviews } from '../../controller/identity/test-support.ts';
import { startControlPlane, type ControlPlane } from '../../controller/runners/index.ts';
import { startFakeApiServer, type FakeApiServer, type FakeObject } from './fake-apiserver/index.ts';
import { freePort } from './free-port.ts';
import { kubeClientFor } from './kube-client-for.ts';

const quiet = (): void => undefined;
const MESHED = { 'meshlet.dev/mesh': 'meshlet' };

export interface IdentityWorldOptions {
  /** More objects on the API server (e.g. an unlabelled namespace). */
  extraObjects?: FakeObject[];
  /** The controller's log (quiet by default). */
  log?: (line: string) => void;
  /** CA Secret poll interval and rotation grace period, for rotation tests. */
  caPollMs?: number;
  rotationGraceMs?: number;
}

export interface IdentityAgentOptions {
  inbound: number;
  originalDestination: Parameters<typeof startSidecar>[0]['originalDestination'];
  inboundAppPortFor?: (port: number) => number;
  /** The agent's controller client and certificate manager log here (quiet by default). */
  log?: (line: string) => void;
}

export interface IdentityAgent {
  proxy: RunningProxy;
  certificates: CertificateManager;
}

export interface IdentityWorld {
  api: FakeApiServer;
  plane: ControlPlane;
  /** Holds root.pem, reviews.token and productpage.token. */
  dir: string;
  reviewsInbound: number;
  agent(pod: string, sa: string, opts: IdentityAgentOptions): Promise<IdentityAgent>;
  /** Stops the agents (newest first), the controller and the API server; removes the directory. */
  close(): Promise<void>;
}

function objects(reviewsInbound: number, extra: FakeObject[]): FakeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'meshlet.dev/inject': 'enabled' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'meshlet-system' } },
    ...extra,
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'reviews-0', namespace: 'shop', labels: MESHED }, spec: { serviceAccountName: 'reviews' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'productpage-0', namespace: 'shop', labels: MESHED }, spec: { serviceAccountName: 'productpage' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'shop' }, spec: { clusterIP: '10.96.0.30', ports: [{ name: 'http', port: 9080, protocol: 'TCP' }] } },
    {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'reviews-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'reviews' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: reviewsInbound, protocol: 'TCP' }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'reviews-0', namespace: 'shop' } }],
    },
  ];
}

export async function startIdentityWorld(opts: IdentityWorldOptions = {}): Promise<IdentityWorld> {
  const reviewsInbound = await freePort();
  const api = await startFakeApiServer({ gatewayApi: false, objects: objects(reviewsInbound, opts.extraObjects ?? []) });
  const kube = kubeClientFor(api);
  const plane = await startControlPlane({
    log: opts.log ?? quiet,
    source: { kind: 'cluster', controller: { client: kube, leaderElection: false, debounceMs: 10, defaultMesh: false } },
    publish: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    identity: {
      client: withTokenReviews(kube, {
        'tok-reviews': { username: 'system:serviceaccount:shop:reviews', pod: 'reviews-0' },
        'tok-productpage': { username: 'system:serviceaccount:shop:productpage', pod: 'productpage-0' },
      }),
      trustDomain: 'cluster.local', namespace: 'meshlet-system', extraDnsNames: ['localhost'],
      ...(opts.caPollMs !== undefined ? { caPollMs: opts.caPollMs } : {}),
      ...(opts.rotationGraceMs !== undefined ? { rotationGraceMs: opts.rotationGraceMs } : {}),
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-identity-'));
  writeFileSync(join(dir, 'root.pem'), plane.identity!.rootsPem);
  for (const sa of ['reviews', 'productpage']) writeFileSync(join(dir, `${sa}.token`), `tok-${sa}\n`);
  const stops: (() => unknown)[] = [];

  const agent = async (pod: string, sa: string, a: IdentityAgentOptions): Promise<IdentityAgent> => {
    const log = a.log ?? quiet;
    const client = controllerSource({
      controller: `wss://localhost:${plane.publisher!.port}`, mode: 'sidecar', pod, namespace: 'shop', serviceAccount: sa,
      rootCaFile: join(dir, 'root.pem'), log,
    });
    const certificates = await workloadCertificates(client, join(dir, `${sa}.token`), log);
    const proxy = await startSidecar({
      namespace: 'shop', source: client, host: '127.0.0.1', ports: { outbound: 0, inbound: a.inbound, admin: 0 }, log: quiet,
      originalDestination: a.originalDestination,
      onUnknownDestination: (address, port) => client.ensureDestination(address, port),
      identity: { certificates }, ...(a.inboundAppPortFor ? { inboundAppPortFor: a.inboundAppPortFor } : {}),
    });
    stops.push(() => client.close(), () => certificates.stop(), () => proxy.close());
    await client.ready(5_000);
    return { proxy, certificates };
  };

  const close = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop();
    await plane.stop();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { api, plane, dir, reviewsInbound, agent, close };
}
