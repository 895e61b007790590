// startBox(): a real control plane (etcd, kube-apiserver, kube-controller-manager) and a real
// Jaeger on this machine, on free ports, in a temp dir that stop() removes. It resolves only when
// the API is ready and the ServiceAccount controller has created `default/default`, so a test can
// create pods at once. Logs of every component go to logsDir, which outlives the box when a
// failure was noted (or MESHLET_BOX_KEEP_LOGS=1), so a failing run can be read afterwards.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoxApi } from './api-client.ts';
import { startApiServer } from './apiserver.ts';
import type { ComponentProcess, Readiness } from './component-process.ts';
import { locateComponents, repoRoot, type Components } from './components.ts';
import { startControllerManager } from './controller-manager.ts';
import { startEtcd } from './etcd.ts';
import { ComponentStartError } from './errors.ts';
import { startJaeger, type JaegerEndpoints } from './jaeger.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { createBoxPki, issueClientCert, type KeyPairPem } from './pki.ts';
import { freePorts } from './ports.ts';

export interface BoxOptions {
  /** Built components (bin/ + crds/); default: $MESHLET_CLUSTER_COMPONENTS or the build script. */
  componentsDir?: string;
  /** Where component logs go; default .tmp/cluster-box/<time>-<pid>/ in the repository. */
  logsDir?: string;
  /** kube-apiserver's listen address (a bridge address lets pods in namespaces reach it). */
  apiServerBindAddress?: string;
  /** The address in the `kubernetes` Service's endpoints; default the bind address or 127.0.0.1. */
  apiServerAdvertiseAddress?: string;
  /** Jaeger's listen host (what JAEGER_LISTEN_HOST is to the stock config). */
  jaegerListenHost?: string;
  serviceClusterIpRange?: string;
  apiServerArgs?: string[];
  controllerManagerArgs?: string[];
  /** Bound for each component to become ready. */
  startTimeoutMs?: number;
}

export interface Box {
  kubeconfigPath: string;
  apiUrl: string;
  /** PEM of the CA that signed the API server's certificate and the box's client certificates. */
  caPem: string;
  caPath: string;
  serviceAccountIssuer: string;
  jaeger: JaegerEndpoints;
  logsDir: string;
  components: Components;
  /** A client authenticated as cluster-admin (system:masters). */
  admin: BoxApi;
  processes: ReadonlyMap<string, ComponentProcess>;
  /**
   * Credentials for any user and groups, signed by the box CA, with a client and a kubeconfig
   * file: e.g. a kubelet's system:node:<name> in system:nodes (Node authorization applies).
   */
  clientFor(user: string, groups: string[]): BoxClient;
  /**
   * Stops one component (SIGTERM, SIGKILL after graceMs) and starts it again with the same flags,
   * ports and data, resolving when it serves again: the API-server-restart fault of a journey.
   */
  restart(name: 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'jaeger', graceMs?: number): Promise<void>;
  /** Remember that something failed: stop() then keeps the logs and prints where they are. */
  noteFailure(what: string): void;
  stop(): Promise<void>;
}

export interface BoxClient {
  credentials: KeyPairPem;
  api: BoxApi;
  kubeconfigPath: string;
}

const keptRuns = 5;

function defaultLogsDir(): string {
  const parent = join(repoRoot, '.tmp/cluster-box');
  mkdirSync(parent, { recursive: true });
  // Keep the latest few runs' logs only: kept logs are for the failure just seen.
  const old = readdirSync(parent).sort().slice(0, -keptRuns);
  for (const name of old) rmSync(join(parent, name), { recursive: true, force: true });
  const dir = join(parent, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The first host address of an IPv4 CIDR: the `kubernetes` Service's ClusterIP. */
export function firstServiceIp(cidr: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = match ? match.slice(1, 5).map(Number) : [];
  const prefix = Number(match?.[5]);
  if (!match || octets.some((o) => o > 255) || prefix > 30) throw new Error(`not an IPv4 CIDR with room for hosts: ${cidr}`);
  const address = octets.reduce((n, o) => n * 256 + o, 0);
  const network = address - (address % 2 ** (32 - prefix));
  const first = network + 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(first / 2 ** shift) % 256).join('.');
}

export async function startBox(opts: BoxOptions = {}): Promise<Box> {
  const components = locateComponents(opts.componentsDir);
  const logsDir = opts.logsDir ?? defaultLogsDir();
  mkdirSync(logsDir, { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'meshlet-box-'));
  const processes = new Map<string, ComponentProcess>();
  const readiness = new Map<string, Readiness>();
  const failures: string[] = [];
  // If the test process exits without stop() (an uncaught error, EPIPE on its output), nothing
  // can be awaited any more: kill synchronously so no component outlives the run.
  const killAll = (): void => {
    for (const p of processes.values()) p.killNow();
    rmSync(workDir, { recursive: true, force: true });
  };
  process.once('exit', killAll);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Reverse start order: controllers before the API server before etcd.
    for (const p of [...processes.values()].reverse()) await p.stop();
    process.removeListener('exit', killAll);
    rmSync(workDir, { recursive: true, force: true });
    if (failures.length > 0 || process.env.MESHLET_BOX_KEEP_LOGS === '1') {
      process.stderr.write(`cluster box: component logs kept in ${logsDir}${failures.length ? ` (failed: ${failures.join('; ')})` : ''}\n`);
    } else if (opts.logsDir === undefined) {
      rmSync(logsDir, { recursive: true, force: true });
    }
  };

  try {
    const timeoutMs = opts.startTimeoutMs ?? 90_000;
    const bindAddress = opts.apiServerBindAddress ?? '127.0.0.1';
    const advertiseAddress = opts.apiServerAdvertiseAddress ?? (bindAddress === '0.0.0.0' ? '127.0.0.1' : bindAddress);
    const jaegerHost = opts.jaegerListenHost ?? '127.0.0.1';
    const serviceClusterIpRange = opts.serviceClusterIpRange ?? '10.96.0.0/16';
    const [etcdClient, etcdPeer, apiPort, kcmPort] = (await freePorts(4)) as [number, number, number, number];
    const [otlpHttp, otlpGrpc, queryHttp, queryGrpc] = (await freePorts(4, jaegerHost)) as [number, number, number, number];

    const pkiDir = join(workDir, 'pki');
    mkdirSync(pkiDir);
    const ips = [...new Set(['127.0.0.1', advertiseAddress, firstServiceIp(serviceClusterIpRange), ...(bindAddress === '0.0.0.0' ? [] : [bindAddress])])];
    const pki = createBoxPki({ ips, dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'] });
    const file = (name: string, pem: string): string => {
      const path = join(pkiDir, name);
      writeFileSync(path, pem, { mode: 0o600 });
      return path;
    };
    const caPath = file('ca.crt', pki.ca.cert);
    const apiUrl = `https://${advertiseAddress}:${apiPort}`;
    const kubeconfigPath = writeKubeconfig(join(workDir, 'admin.kubeconfig'), { server: apiUrl, ca: pki.ca.cert, user: 'meshlet-admin', ...pki.admin });
    const kcmKubeconfig = writeKubeconfig(join(workDir, 'controller-manager.kubeconfig'), { server: apiUrl, ca: pki.ca.cert, user: 'system:kube-controller-manager', ...pki.controllerManager });
    const saKey = file('sa.key', pki.serviceAccount.privateKey);
    const admin = new BoxApi(apiUrl, pki.ca.cert, pki.admin);
    const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';

    const register = (p: ComponentProcess, ready: Readiness): void => {
      processes.set(p.name, p);
      readiness.set(p.name, ready);
    };
    const [etcd, jaeger] = await Promise.all([
      startEtcd({ bin: components.bin.etcd, dataDir: workDir, logsDir, clientPort: etcdClient, peerPort: etcdPeer, timeoutMs, register }),
      startJaeger({ bin: components.bin.jaeger, logsDir, configDir: workDir, listenHost: jaegerHost, ports: { otlpHttp, otlpGrpc, queryHttp, queryGrpc }, timeoutMs, register }),
    ]);
    await startApiServer({
      bin: components.bin.kubeApiserver,
      logsDir,
      certDir: join(workDir, 'apiserver-certs'),
      files: { ca: caPath, servingCert: file('apiserver.crt', pki.serving.cert), servingKey: file('apiserver.key', pki.serving.key), serviceAccountPublicKey: file('sa.pub', pki.serviceAccount.publicKey), serviceAccountPrivateKey: saKey },
      etcdUrl: etcd.url,
      bindAddress,
      advertiseAddress,
      port: apiPort,
      serviceClusterIpRange,
      serviceAccountIssuer,
      extraArgs: opts.apiServerArgs ?? [],
      timeoutMs,
      register,
    }, admin);
    const kcm = startControllerManager({ bin: components.bin.kubeControllerManager, logsDir, kubeconfig: kcmKubeconfig, ca: caPath, serviceAccountPrivateKey: saKey, port: kcmPort, extraArgs: opts.controllerManagerArgs ?? [] });
    const kcmReady: Readiness = (p) => p.waitReady('creating default/default ServiceAccount', async () => (await admin.get('/api/v1/namespaces/default/serviceaccounts/default')).status === 200, timeoutMs, 300);
    register(kcm, kcmReady);
    await kcmReady(kcm);

    const clientFor = (user: string, groups: string[]): BoxClient => {
      const credentials = issueClientCert(pki.ca, user, groups);
      const path = join(workDir, `${user.replace(/[^A-Za-z0-9_.-]/g, '_')}.kubeconfig`);
      return { credentials, api: new BoxApi(apiUrl, pki.ca.cert, credentials), kubeconfigPath: writeKubeconfig(path, { server: apiUrl, ca: pki.ca.cert, user, ...credentials }) };
    };

    const restart = async (name: string, graceMs?: number): Promise<void> => {
      const current = processes.get(name);
      const ready = readiness.get(name);
      if (!current || !ready) throw new Error(`no component ${name} in this box`);
      if (stopped) throw new Error('the box is stopped');
      await current.stop(graceMs);
      const next = current.respawn();
      processes.set(name, next);
      await ready(next);
    };

    return {
      kubeconfigPath,
      apiUrl,
      caPem: pki.ca.cert,
      caPath,
      serviceAccountIssuer,
      jaeger: jaeger.endpoints,
      logsDir,
      components,
      admin,
      processes,
      noteFailure: (what) => void failures.push(what),
      clientFor,
      restart,
      stop,
    };
  } catch (err) {
    failures.push(err instanceof ComponentStartError ? `${err.component} start` : 'start');
    await stop();
    throw err;
  }
}
