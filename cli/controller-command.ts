// `meshlet controller`: flags in, a ControlPlaneConfig out. The process itself (config server,
// translation loop or file mode, admin port) is composed in controller/runners/.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { PORTS } from '../api/names.ts';
import { loadKubeConfig, KubeClient, KubeConfigError } from '../controller/provider/kubernetes/index.ts';
import { tokenReviewAuthenticator } from '../controller/publish/index.ts';
import { CA_TOKEN_AUDIENCE } from '../api/identity.ts';
import type { HelloMessage } from '../api/wire.ts';
import { startControlPlane, type ControlPlaneConfig } from '../controller/runners/index.ts';
import { releaseFreeMemory } from '../agent/native/index.ts';
import type { Command } from './command.ts';
import { commandLogger, countFlag, LOG_HELP, LOG_OPTIONS, portFlag } from './flags.ts';
import { readTokenFile } from './controller-source.ts';
import { meshConfig } from './inject-command.ts';
import { openFileSource } from './open-file-source.ts';
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
  --agent-auth MODE         tokenreview (default with --ca on): a sidecar must send its
                            ServiceAccount token (meshlet agent --token-file), reviewed with a
                            TokenReview, and may only claim that token's namespace, service account
                            and pod; an ingress whose token is --ingress-identity's may read
                            Gateways. none (default otherwise): claimed identities are trusted
                            (sidecars never receive secrets)
  --token-audience AUD      audience the tokens must carry (repeatable; tokenreview; default
                            meshlet-ca with --ca on, the injected projected token's audience)
  --ingress-identity NS/SA  the shared ingress's ServiceAccount (default meshlet-system/meshlet-ingress)
  --no-publish              do not serve agents (status writing only)
  --leader-elect BOOL       true (default): only the Lease holder writes statuses; false: always write
  --lease-namespace NS      namespace of the Lease (default: $POD_NAMESPACE or meshlet-system)
  --lease-name NAME         name of the Lease (default meshlet-controller)
  --identity ID             this replica's name in the Lease (default: $POD_NAME or hostname-pid)
  --lease-duration S        seconds a non-renewed Lease stays valid (default 15)
  --renew-deadline S        seconds the leader keeps trying to renew before stepping down (default 10)
  --retry-period S          seconds between election attempts and renewals (default 2)
  --debounce-ms N           wait this long for more changes before translating (default 50;
                            the first change after as long without a translation waits only
                            the endpoint debounce)
  --endpoint-debounce-ms N  the same for a batch of EndpointSlice/Pod changes alone (default 5)
  --max-delay-ms N          never delay a translation longer than this (default 500)
  --ingress-service NS/NAME the shared ingress Service: its LoadBalancer addresses are reported
                            as every Gateway's address
  --gateway-address ADDR    report this address for every Gateway (repeatable; overrides the above)
  --trust-domain NAME       SPIFFE trust domain (default cluster.local)
  --no-default-mesh         do not create the default XMesh 'meshlet'
  --mesh-config FILE        the mesh configuration (YAML, as \`meshlet inject --mesh-config\`): trust
                            domain, meshlet's namespace, webhook name and failurePolicy, what is injected
  --ca on|off               the mesh CA (default on with the Kubernetes API): agents get SPIFFE
                            certificates over the config channel, which is then wss:// with the
                            controller's certificate; meshlet-root-ca is published in injected namespaces
  --webhook-port N          the injection webhook, HTTPS (default ${PORTS.webhook}; -1 = none; needs --ca on)
  --admin-host ADDR         address of the admin port (default 0.0.0.0)
  --admin-port N            /live, /ready and /metrics (default ${PORTS.controllerAdmin}; 0 = any; -1 = none)
${LOG_HELP}

On SIGTERM/SIGINT the leader releases its Lease, so another replica takes over at once.
`;

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
        'agent-auth': { type: 'string' },
        'ingress-identity': { type: 'string', default: 'meshlet-system/meshlet-ingress' },
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
        'endpoint-debounce-ms': { type: 'string', default: '5' },
        'max-delay-ms': { type: 'string', default: '500' },
        'ingress-service': { type: 'string' },
        'gateway-address': { type: 'string', multiple: true, default: [] },
        'trust-domain': { type: 'string' },
        'no-default-mesh': { type: 'boolean', default: false },
        'admin-host': { type: 'string', default: '0.0.0.0' },
        'mesh-config': { type: 'string' },
        'ca': { type: 'string', default: 'on' },
        'webhook-port': { type: 'string' },
        'admin-port': { type: 'string' },
        ...LOG_OPTIONS,
      },
      strict: true,
    });
    const logger = commandLogger('meshlet controller', values, io);
    const log = (line: string): void => logger.info(line);
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
    if (values['agent-auth'] !== undefined && !['none', 'tokenreview'].includes(values['agent-auth'])) throw new UsageError(`--agent-auth wants none or tokenreview, got '${values['agent-auth']}'`);
    const admin = values['admin-port'] === '-1' ? null : { host: values['admin-host'], port: portFlag(values['admin-port'], PORTS.controllerAdmin, 'admin-port') };
    const listen = { host: values['listen-host'], port: portFlag(values['listen-port'], PORTS.controller, 'listen-port') };
    let config: ControlPlaneConfig;
    /** The running translation's namespace cache, once started (the webhook asks it first). */
    const watched: { namespaceMeta?: (name: string) => { labels: Record<string, string>; annotations: Record<string, string> } | undefined } = {};
    if (values.config !== undefined) {
      if (values.kubeconfig !== undefined) throw new UsageError('give --config DIR or --kubeconfig FILE, not both');
      if (values['agent-auth'] === 'tokenreview') throw new UsageError('--agent-auth tokenreview needs the Kubernetes API, not --config DIR');
      if (values['no-publish']) throw new UsageError('--config DIR with --no-publish would do nothing');
      const files = await openFileSource({ dir: values.config, log });
      log(`file mode (${values.config})`);
      config = { log, source: { kind: 'file', files }, publish: { ...listen, ingressToken }, admin };
    } else {
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
      if (!['on', 'off'].includes(values.ca)) throw new UsageError(`--ca wants on or off, got '${values.ca}'`);
      const mesh = await meshConfig(values['mesh-config']);
      const ca = values.ca === 'on';
      // With the CA, every agent already holds a projected token (audience meshlet-ca): review it,
      // so a sidecar cannot claim another namespace's view and the ingress proves who it is.
      const tokenReview = (values['agent-auth'] ?? (ca ? 'tokenreview' : 'none')) === 'tokenreview';
      const audiences = values['token-audience'].length > 0 ? values['token-audience'] : ca ? [CA_TOKEN_AUDIENCE] : [];
      const [ingressNs, ingressSa, ...extraParts] = values['ingress-identity'].split('/');
      if (!ingressNs || !ingressSa || extraParts.length > 0) throw new UsageError(`--ingress-identity wants NAMESPACE/SERVICEACCOUNT, got '${values['ingress-identity']}'`);
      const authenticate = tokenReview ? tokenReviewAuthenticator({ client, audiences, ingressIdentity: { namespace: ingressNs, serviceAccount: ingressSa } }) : null;
      const webhookPort = values['webhook-port'] === '-1' ? null : portFlag(values['webhook-port'], PORTS.webhook, 'webhook-port');
      if (webhookPort !== null && !ca) throw new UsageError('the injection webhook needs --ca on (its certificate comes from the mesh CA); give --webhook-port -1 to run without it');
      const ownNamespace = process.env.POD_NAMESPACE ?? mesh.meshletNamespace;
      if (tokenReview && !values['no-publish']) log('sidecars must present a ServiceAccount token (TokenReview)');
      config = {
        log,
        source: { kind: 'cluster', controller: {
          client, ingressService, trustDomain: values['trust-domain'] ?? mesh.trustDomain,
          gatewayAddresses: values['gateway-address'],
          defaultMesh: !values['no-default-mesh'],
          debounceMs: countFlag(values['debounce-ms'], 'debounce-ms'),
          endpointDebounceMs: countFlag(values['endpoint-debounce-ms'], 'endpoint-debounce-ms'),
          maxDelayMs: countFlag(values['max-delay-ms'], 'max-delay-ms'),
          // The image builds the addon for the agent; the controller uses it only to trim malloc.
          releaseFreeMemory,
          leaderElection: values['leader-elect'] === 'false' ? false : {
            namespace: values['lease-namespace'] ?? process.env.POD_NAMESPACE ?? 'meshlet-system',
            name: values['lease-name'], identity, leaseDurationMs, renewDeadlineMs, retryPeriodMs,
          },
        } },
        publish: values['no-publish'] ? null : {
          ...listen, controllerId: identity, ingressToken, ingressIdentity: { namespace: ingressNs, serviceAccount: ingressSa },
          ...(authenticate ? { authenticate, ingressProven: (hello: HelloMessage) => authenticate.provenIngress(hello) } : {}),
        },
        admin,
        identity: ca ? { client, trustDomain: values['trust-domain'] ?? mesh.trustDomain, namespace: ownNamespace } : null,
        webhook: webhookPort === null ? null : {
          host: values['listen-host'], port: webhookPort, meshConfig: mesh, configName: mesh.webhookName, namespace: ownNamespace,
          failurePolicy: mesh.failurePolicy, client,
          getNamespace: async (name) => {
            const cached = watched.namespaceMeta?.(name);
            if (cached) return cached;
            const { metadata } = await client.request<{ metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }>('GET', `/api/v1/namespaces/${encodeURIComponent(name)}`, { timeoutMs: 2_000 });
            return { labels: metadata?.labels ?? {}, annotations: metadata?.annotations ?? {} };
          },
        },
      };
    }
    let plane;
    try {
      plane = await startControlPlane(config);
      const translation = plane.translation;
      if (translation) watched.namespaceMeta = (name) => translation.namespaceMeta(name);
    } catch (err) {
      // Nothing may keep a failed process alive (the directory watcher would).
      if (config.source.kind === 'file') config.source.files.close();
      throw err;
    }
    const signal = await io.stopSignal;
    log(`${signal}: stopping`);
    await plane.stop();
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
