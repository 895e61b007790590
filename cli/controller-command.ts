// `meshlet controller`: the control plane on Kubernetes. The provider's informers feed coalesced
// snapshots to translate (pure); every replica publishes the resulting table to the agents
// connected to it, and the replica holding the Lease writes statuses. startController() is the
// same composition without flags, so integration tests run controllers in-process.
// Agents' acks (via the publisher) rewrite route statuses with `meshlet.dev/Propagated` counts.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { PORTS } from '../api/names.ts';
import { KubernetesProvider, loadKubeConfig, KubeClient, KubeConfigError } from '../controller/provider/kubernetes/index.ts';
import { Publisher, tokenReviewAuthenticator } from '../controller/publish/index.ts';
import { LeaderElector, StatusWriter, type PropagationHook } from '../controller/status/index.ts';
import { translate } from '../controller/translate/index.ts';
import type { Snapshot, TranslateResult } from '../controller/translate/snapshot.ts';
import type { Command } from './command.ts';
import { FileTableSource } from './file-table-source.ts';
import { countFlag, portFlag } from './flags.ts';
import { readTokenFile } from './controller-source.ts';
import { UsageError } from './usage-error.ts';

const HELP = `Usage: meshlet controller [--kubeconfig FILE] [flags]
       meshlet controller --config DIR [--listen-host ADDR] [--listen-port N]

Watches the Kubernetes API (Gateway API objects, Services, EndpointSlices, Namespaces and the
Secrets Gateways reference), translates them into meshlet's routing table, serves that table to
agents and ingresses over WebSocket (${PORTS.controller}), and writes statuses (GatewayClass,
Gateway, HTTPRoute, GRPCRoute, XMesh) from the replica that holds the leader Lease.

Cluster access (first that applies): --kubeconfig FILE, $KUBECONFIG, the in-cluster service
account, ~/.kube/config.

With --config DIR there is no cluster: the manifests in DIR (reloaded on change) are translated
and served to agents; no statuses are written and no Lease is taken (local development, VMs).

Flags:
  --kubeconfig FILE         kubeconfig to use (out of cluster)
  --config DIR              file mode: a manifest directory instead of the Kubernetes API
  --listen-host ADDR        address of the agent config server (default 0.0.0.0)
  --listen-port N           port of the agent config server (default ${PORTS.controller}; 0 = any)
  --ingress-token-file FILE bearer token an ingress must present to receive Gateways and their
                            TLS private keys (default: $MESHLET_INGRESS_TOKEN_FILE). Without one,
                            Gateways are served only to connections from this host (loopback)
  --agent-auth MODE         none (default): sidecars' claimed identities are trusted (they never
                            receive secrets); tokenreview: a sidecar must send its ServiceAccount
                            token (meshlet agent --token-file), reviewed with a TokenReview, and
                            may only claim that token's namespace, service account and pod
  --token-audience AUD      audience the sidecar tokens must carry (repeatable; tokenreview)
  --no-publish              do not serve agents (status writing only)
  --leader-elect BOOL       true (default): only the Lease holder writes statuses; false: always write
  --lease-namespace NS      namespace of the Lease (default: $POD_NAMESPACE or meshlet-system)
  --lease-name NAME         name of the Lease (default meshlet-controller)
  --identity ID             this replica's name in the Lease (default: $POD_NAME or hostname-pid)
  --lease-duration S        seconds a non-renewed Lease stays valid (default 15)
  --renew-deadline S        seconds the leader keeps trying to renew before stepping down (default 10)
  --retry-period S          seconds between election attempts and renewals (default 2)
  --debounce-ms N           wait this long for more changes before translating (default 50)
  --max-delay-ms N          never delay a translation longer than this (default 500)
  --ingress-service NS/NAME the shared ingress Service: its LoadBalancer addresses are reported
                            as every Gateway's address
  --gateway-address ADDR    report this address for every Gateway (repeatable; overrides the above)
  --trust-domain NAME       SPIFFE trust domain (default cluster.local)
  --no-default-mesh         do not create the default XMesh 'meshlet'

On SIGTERM/SIGINT the leader releases its Lease, so another replica takes over at once.
`;

export interface ControllerOptions {
  client: KubeClient;
  log: (line: string) => void;
  leaderElection?: { namespace: string; name: string; identity: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number } | false;
  debounceMs?: number;
  maxDelayMs?: number;
  gatewayAddresses?: string[];
  ingressService?: { namespace: string; name: string };
  trustDomain?: string;
  defaultMesh?: boolean;
  /** Serves every translation's table to agents and counts their acks for `meshlet.dev/Propagated`. */
  publisher?: Publisher;
  /** Rewrite statuses at most this often when agents' acks change the counts (default 1000 ms). */
  propagationResyncMs?: number;
  /** Called with every translation (tests). */
  onTranslated?: (result: TranslateResult, snapshot: Snapshot) => void;
  /** Overrides the publisher's counts (tests). */
  propagation?: PropagationHook;
  /** Passed to the provider's informers (tests shorten them). */
  backoff?: { initialMs?: number; maxMs?: number };
  missingRetryMs?: number;
  meshRetryMs?: number;
}

export interface Controller {
  provider: KubernetesProvider;
  writer: StatusWriter;
  elector: LeaderElector | undefined;
  readonly translations: number;
  close(): Promise<void>;
}

/** LoadBalancer IPs/hostnames of the ingress Service, as translate wants them per Gateway. */
function addressesFor(snapshot: Snapshot, opts: ControllerOptions): Record<string, string[]> {
  let addrs = opts.gatewayAddresses ?? [];
  if (addrs.length === 0 && opts.ingressService) {
    const { namespace, name } = opts.ingressService;
    const svc = snapshot.services.find((s) => s.metadata.namespace === namespace && s.metadata.name === name);
    const ingress = ((svc?.status?.loadBalancer as { ingress?: { ip?: string; hostname?: string }[] } | undefined)?.ingress ?? []);
    addrs = ingress.map((i) => i.ip ?? i.hostname).filter((a): a is string => typeof a === 'string' && a !== '');
  }
  if (addrs.length === 0) return {};
  return Object.fromEntries(snapshot.gateways.map((g) => [`${g.metadata.namespace ?? 'default'}/${g.metadata.name}`, addrs]));
}

/** Counts cover the agents connected to this replica; a route no agent was sent has none. */
function publisherPropagation(publisher: Publisher): PropagationHook {
  return (route) => {
    const p = publisher.propagation(route);
    return p.generation === 0 ? null : p;
  };
}

export function startController(opts: ControllerOptions): Controller {
  let translations = 0;
  const { publisher } = opts;
  const propagation = opts.propagation ?? (publisher && publisherPropagation(publisher));
  const writer = new StatusWriter({ client: opts.client, log: opts.log, propagation, defaultMesh: opts.defaultMesh, meshRetryMs: opts.meshRetryMs });
  const provider = new KubernetesProvider({
    client: opts.client, log: opts.log, debounceMs: opts.debounceMs, maxDelayMs: opts.maxDelayMs, trustDomain: opts.trustDomain,
    backoff: opts.backoff, missingRetryMs: opts.missingRetryMs,
    onSnapshot: (raw) => {
      const snapshot = { ...raw, gatewayAddresses: addressesFor(raw, opts) };
      const result = translate(snapshot);
      translations++;
      publisher?.setTable(result.ir);
      opts.onTranslated?.(result, snapshot);
      writer.submit(snapshot, result.statuses);
    },
  });
  const le = opts.leaderElection;
  const elector = le === false || le === undefined ? undefined : new LeaderElector({
    client: opts.client, ...le, log: opts.log,
    onStartedLeading: () => writer.setLeader(true),
    onStoppedLeading: () => writer.setLeader(false),
  });
  if (!elector) writer.setLeader(true);
  // Acks move the Propagated counts: rewrite statuses, throttled.
  let resyncTimer: NodeJS.Timeout | undefined;
  const stopWatchingAcks = publisher?.onChange(() => {
    resyncTimer ??= setTimeout(() => {
      resyncTimer = undefined;
      writer.resync();
    }, opts.propagationResyncMs ?? 1000);
  });
  provider.start();
  elector?.start();
  return {
    provider, writer, elector,
    get translations() {
      return translations;
    },
    async close() {
      stopWatchingAcks?.();
      clearTimeout(resyncTimer);
      provider.close();
      writer.close();
      await elector?.stop();
      await writer.idle();
    },
  };
}

function seconds(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} wants a positive number of seconds, got '${value}'`);
  return n * 1000;
}

export const controllerCommand: Command = {
  name: 'controller',
  summary: 'run the control plane against a Kubernetes API server',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        'kubeconfig': { type: 'string' },
        'config': { type: 'string' },
        'listen-host': { type: 'string', default: '0.0.0.0' },
        'listen-port': { type: 'string' },
        'ingress-token-file': { type: 'string' },
        'agent-auth': { type: 'string', default: 'none' },
        'token-audience': { type: 'string', multiple: true, default: [] },
        'no-publish': { type: 'boolean', default: false },
        'leader-elect': { type: 'string', default: 'true' },
        'lease-namespace': { type: 'string' },
        'lease-name': { type: 'string', default: 'meshlet-controller' },
        'identity': { type: 'string' },
        'lease-duration': { type: 'string', default: '15' },
        'renew-deadline': { type: 'string', default: '10' },
        'retry-period': { type: 'string', default: '2' },
        'debounce-ms': { type: 'string', default: '50' },
        'max-delay-ms': { type: 'string', default: '500' },
        'ingress-service': { type: 'string' },
        'gateway-address': { type: 'string', multiple: true, default: [] },
        'trust-domain': { type: 'string' },
        'no-default-mesh': { type: 'boolean', default: false },
      },
      strict: true,
    });
    const log = (line: string): void => void io.stderr.write(`meshlet controller: ${line}\n`);
    if (!['true', 'false'].includes(values['leader-elect'])) throw new UsageError(`--leader-elect wants true or false, got '${values['leader-elect']}'`);
    const leaseDurationMs = seconds(values['lease-duration'], 'lease-duration');
    const renewDeadlineMs = seconds(values['renew-deadline'], 'renew-deadline');
    const retryPeriodMs = seconds(values['retry-period'], 'retry-period');
    if (renewDeadlineMs >= leaseDurationMs) throw new UsageError('--renew-deadline must be shorter than --lease-duration');
    let ingressService: { namespace: string; name: string } | undefined;
    if (values['ingress-service'] !== undefined) {
      const [namespace, name, ...extra] = values['ingress-service'].split('/');
      if (!namespace || !name || extra.length > 0) throw new UsageError(`--ingress-service wants NAMESPACE/NAME, got '${values['ingress-service']}'`);
      ingressService = { namespace, name };
    }
    const ingressToken = ingressTokenSource(values['ingress-token-file'] ?? process.env.MESHLET_INGRESS_TOKEN_FILE, log);
    if (!['none', 'tokenreview'].includes(values['agent-auth'])) throw new UsageError(`--agent-auth wants none or tokenreview, got '${values['agent-auth']}'`);
    if (values.config !== undefined) {
      if (values.kubeconfig !== undefined) throw new UsageError('give --config DIR or --kubeconfig FILE, not both');
      if (values['agent-auth'] !== 'none') throw new UsageError('--agent-auth tokenreview needs the Kubernetes API, not --config DIR');
      if (values['no-publish']) throw new UsageError('--config DIR with --no-publish would do nothing');
      return runFileMode(values.config, values['listen-host'], portFlag(values['listen-port'], PORTS.controller, 'listen-port'), ingressToken, log, io.stopSignal);
    }
    let loaded;
    try {
      loaded = loadKubeConfig({ kubeconfig: values.kubeconfig });
    } catch (err) {
      if (err instanceof KubeConfigError) throw new UsageError(err.message);
      throw err;
    }
    const client = new KubeClient(loaded.config);
    log(`cluster ${client.server} (from ${loaded.source})`);
    const identity = values.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
    const publisher = values['no-publish'] ? undefined : await Publisher.start({
      host: values['listen-host'], port: portFlag(values['listen-port'], PORTS.controller, 'listen-port'), controllerId: identity, log, ingressToken,
      ...(values['agent-auth'] === 'tokenreview' ? { authenticate: tokenReviewAuthenticator({ client, audiences: values['token-audience'] }) } : {}),
    });
    if (publisher && values['agent-auth'] === 'tokenreview') log('sidecars must present a ServiceAccount token (TokenReview)');
    if (publisher) log(`serving agents on ${values['listen-host']}:${publisher.port}`);
    const controller = startController({
      client, log, ingressService, trustDomain: values['trust-domain'],
      gatewayAddresses: values['gateway-address'],
      defaultMesh: !values['no-default-mesh'],
      debounceMs: countFlag(values['debounce-ms'], 'debounce-ms'),
      maxDelayMs: countFlag(values['max-delay-ms'], 'max-delay-ms'),
      leaderElection: values['leader-elect'] === 'false' ? false : {
        namespace: values['lease-namespace'] ?? process.env.POD_NAMESPACE ?? 'meshlet-system',
        name: values['lease-name'], identity, leaseDurationMs, renewDeadlineMs, retryPeriodMs,
      },
      publisher,
    });
    const signal = await io.stopSignal;
    log(`${signal}: stopping`);
    await controller.close();
    await publisher?.close();
    log('stopped');
    return 0;
  },
};

/**
 * The ingress token, read again at each ingress hello (a rotated Secret applies at once). The
 * file must be readable at start; later a read failure refuses the hello (fails closed).
 * Undefined without a file: the publisher then serves Gateways to loopback connections only.
 */
function ingressTokenSource(file: string | undefined, log: (line: string) => void): (() => string) | undefined {
  if (file === undefined || file === '') {
    log('no --ingress-token-file: Gateways (with their TLS keys) are served only to an ingress connecting from this host');
    return undefined;
  }
  readTokenFile(file, '--ingress-token-file');
  log(`an ingress must present the token in ${file} to receive Gateways`);
  return () => readTokenFile(file, '--ingress-token-file');
}

/** `--config DIR`: the manifests stand in for the cluster; tables are served, statuses only logged. */
async function runFileMode(dir: string, host: string, listenPort: number, ingressToken: (() => string) | undefined, log: (line: string) => void, stopSignal: Promise<string>): Promise<number> {
  const source = new FileTableSource({ dir, log }).start();
  try {
    await source.ready();
  } catch (err) {
    source.close();
    throw new UsageError((err as Error).message);
  }
  const publisher = await Publisher.start({ host, port: listenPort, log, ingressToken });
  const stop = source.subscribe((t) => publisher.setTable(t));
  if (source.current) publisher.setTable(source.current);
  log(`file mode (${dir}); serving agents on ${host}:${publisher.port}`);
  const signal = await stopSignal;
  log(`${signal}: stopping`);
  stop();
  source.close();
  await publisher.close();
  log('stopped');
  return 0;
}
