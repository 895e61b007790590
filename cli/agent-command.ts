// `meshlet agent`: the sidecar. In file mode (--config DIR) it translates a manifest directory
// in process and follows its changes; with --controller URL it receives its slice of the
// routing table from the controller and subscribes to each destination the first time it is
// dialled.
// Connections redirected by `meshlet init` are routed on their original destination; requests
// addressed to the agent itself (explicit mode) are routed by the Service named in Host.
import { parseArgs } from 'node:util';
import { AGENT_UID, PORTS } from '../api/names.ts';
import { startSidecar } from '../agent/sidecar.ts';
import { preloadLazyModules } from '../agent/engine/preload.ts';
import { loadRegexEngine } from '../api/validate.ts';
import { nativeAddonAvailable, tryOriginalDestination } from '../agent/native/index.ts';
import { AppProbersInvalidError, parseAppProbers } from '../agent/admin/app-health-config.ts';
import { OUTBOUND_QUIET_MS } from '../agent/lifecycle/drain.ts';
import { scheduleStartupReclaim, STARTUP_RECLAIM_MS } from '../agent/lifecycle/startup-reclaim.ts';
import { DEFAULT_CLUSTER_NETWORKS, MESHLET_ENV, POD_ENV, type AppProbers } from '../api/pod-env.ts';
import { ClusterNetworksInvalidError, parseClusterNetworks, type ClusterNetworks } from '../agent/outbound/cluster-networks.ts';
import type { Command } from './command.ts';
import { InputError, UsageError } from './usage-error.ts';
import { parseMtlsMode, type MtlsMode } from '../agent/inbound/mesh-mtls.ts';
import { parseDefaultInboundPolicy, type DefaultInboundPolicy } from '../agent/inbound/authorize.ts';
// ---- file-mode mTLS and --app-port (issue 9 measured) ----
import type { fileModeCertificates } from './file-identity.ts';
import { appHostFor, withAppPort } from './app-port.ts';
import { startTelemetry, telemetryConfigFromEnv } from '../agent/telemetry/index.ts'; // telemetry (issue 11)
import { MeshletError } from '../api/errors.ts'; // telemetry (issue 11)
// ---- end file-mode mTLS and --app-port ----
import { checkProxySource, commandLogger, DEFAULT_REQUEST_TIMEOUT_HELP, h1FastHelp, H1_FAST_OPTIONS, h1FastFlag, STREAM_IDLE_TIMEOUT_HELP, streamIdleTimeoutFlag, defaultBindHost, defaultRequestTimeoutFlag, drainFlag, LOG_HELP, LOG_OPTIONS, portFlag, PROXY_SOURCE_OPTIONS, serveUntilStopped, startupReclaimFlag } from './flags.ts';

const HELP = `Usage: meshlet agent (--config DIR | --controller URL) [flags]

Runs the sidecar: outbound proxy (${PORTS.outbound}), inbound proxy (${PORTS.inbound}) and admin
(${PORTS.admin}: /ready, /live, /config_dump, /metrics), routing by the manifests in DIR (file mode; changes
apply within a second, no restart) or by the tables the controller at URL sends.

Flags:
  --config DIR          manifest directory standing in for the Kubernetes API
  --controller URL      the controller's config stream, e.g. ws://meshlet-controller.meshlet:${PORTS.controller}
                        (destinations are subscribed on demand; /ready waits for the first table)
  --pod NAME            the pod's name, sent to the controller (default: $POD_NAME or the hostname)
  --service-account SA  sent to the controller (default: $POD_SERVICE_ACCOUNT or default)
  --token-file FILE     the pod's (projected) ServiceAccount token, sent to the controller;
                        required when it runs with --agent-auth tokenreview
  --namespace NS        the pod's namespace, for consumer routes (default: $POD_NAMESPACE or default)
  --host ADDR           bind address of the listeners (default :: — IPv4 and IPv6 — when the
                        kernel has IPv6, else 0.0.0.0; meshlet init redirects both families)
  --outbound-port N     default ${PORTS.outbound}        --inbound-port N   default ${PORTS.inbound}
  --admin-port N        default ${PORTS.admin}
  --no-explicit         refuse outbound requests that were not redirected by iptables
                        (by default a request addressed to the agent itself is routed by the
                        Service named in its Host header or its absolute-form URL, which is how
                        'meshlet dev' works without iptables)
  --root-ca-file FILE   the mesh's root bundle (meshlet-root-ca): verifies a wss:// controller
                        (default: $MESHLET_ROOT_CA_FILE)
  --mtls-mode MODE      PERMISSIVE (default: plaintext inbound still accepted) or STRICT
                        (default: $MESHLET_MTLS_MODE)
  --default-inbound-policy P  allow (default), authenticated or deny: for inbound endpoints no
                        AuthorizationPolicy governs (default: $MESHLET_DEFAULT_INBOUND_POLICY)
  --no-mtls             no workload certificate even with --controller and --token-file
                        (with both, the agent gets a SPIFFE certificate from the controller's
                        CA and speaks mTLS to meshed endpoints)
  --cluster-networks CIDRS  comma-separated ranges where mesh Services live (default:
                        $MESHLET_CLUSTER_NETWORKS or ${DEFAULT_CLUSTER_NETWORKS.join(',')});
                        with --controller, an unknown destination inside them waits for the
                        controller's answer (refused while it is away), one outside goes straight through
  --app-port N          inbound connections nothing redirected (no iptables: loopback, VMs)
                        go to the app on this port at --host (127.0.0.1 for a wildcard host)
                        instead of getting 400
  File mode: when DIR holds Secret meshlet-system/meshlet-ca (ca.crt, tls.crt, tls.key), the
  agent issues its own workload certificate from it for --service-account in --namespace,
  renews it at half life and speaks mTLS to meshed endpoints (--no-mtls: plaintext)
  --uid N               drop privileges to this uid after binding (in a pod: ${AGENT_UID})
  --drain-seconds N     on SIGTERM, finish in-flight requests for up to N seconds (default 20);
                        new inbound connections are refused at once, the app's outbound calls
                        are served until nothing is in flight (MESHLET_SIDECAR_MODE=legacy:
                        nothing for 5 s, as the app is draining at the same time)
  --startup-reclaim-seconds N  once idle this long after the start, one memory-reducing
                        collection and malloc trim give back what the start left
                        (default ${STARTUP_RECLAIM_MS / 1000}; 0: never)
${h1FastHelp(24)}
  --access-log FORMAT   json or text: one line per request on stdout (default: $MESHLET_ACCESS_LOG, off)
  --otlp URL            export traces over OTLP/HTTP to URL (default: $OTEL_EXPORTER_OTLP_ENDPOINT;
                        no endpoint, no tracing); the other OTEL_* variables are honoured
  --trace-sampling R    root sampling ratio in [0, 1] (default: $OTEL_TRACES_SAMPLER_ARG or 0.01)
${DEFAULT_REQUEST_TIMEOUT_HELP}
${STREAM_IDLE_TIMEOUT_HELP}
${LOG_HELP}

Environment (set by the injector): MESHLET_APP_PROBERS, the app's original probes, run against
$POD_IP when the kubelet calls /app-health/<container>/livez|readyz|startupz on the admin port.

Example (explicit mode):
  meshlet agent --config examples/ --namespace default --outbound-port 15001 &
  curl -H 'Host: reviews.default:9080' http://127.0.0.1:15001/
  curl -x http://127.0.0.1:15001 http://reviews.default:9080/
`;

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run the sidecar proxy (--config DIR or --controller URL)',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        ...PROXY_SOURCE_OPTIONS,
        ...LOG_OPTIONS,
        'service-account': { type: 'string' },
        'host': { type: 'string', default: defaultBindHost() },
        'outbound-port': { type: 'string' },
        'inbound-port': { type: 'string' },
        'no-explicit': { type: 'boolean', default: false },
        'uid': { type: 'string' },
        'root-ca-file': { type: 'string' },
        'mtls-mode': { type: 'string' },
        'no-mtls': { type: 'boolean', default: false },
        'default-inbound-policy': { type: 'string' },
        'app-port': { type: 'string' },
        'cluster-networks': { type: 'string' },
        'access-log': { type: 'string' }, // telemetry (issue 11)
        ...H1_FAST_OPTIONS, // issue 16: neither flag falls back to $MESHLET_H1_FAST
        'otlp': { type: 'string' }, // telemetry (issue 11)
        'trace-sampling': { type: 'string' }, // telemetry (issue 11)
        'default-request-timeout': { type: 'string' }, // issue 15
        'stream-idle-timeout': { type: 'string' }, // issue 15
        'startup-reclaim-seconds': { type: 'string' }, // ADR 0023
      },
      strict: true,
    });
    const namespace = checkProxySource(values);
    const drainMs = drainFlag(values['drain-seconds']);
    const reclaimDelayMs = startupReclaimFlag(values['startup-reclaim-seconds'], STARTUP_RECLAIM_MS);
    const logger = commandLogger('meshlet agent', values, io);
    // The mesh config reaches a sidecar as these variables: a bad one is logged, the default kept.
    const defaultRequestTimeoutMs = defaultRequestTimeoutFlag(values['default-request-timeout'], process.env[MESHLET_ENV.defaultRequestTimeout], (m) => logger.warn(m));
    const streamIdleTimeoutMs = streamIdleTimeoutFlag(values['stream-idle-timeout'], process.env[MESHLET_ENV.streamIdleTimeout], (m) => logger.warn(m));
    const log = (line: string): void => logger.info(line);
    // ---- injected pod (issue 10): the kubelet's rewritten probes and the shutdown order ----
    // Read before anything starts: a bad value must stop the agent before it holds sockets.
    let probers: AppProbers;
    try {
      probers = parseAppProbers(process.env[MESHLET_ENV.appProbers]);
    } catch (err) {
      if (err instanceof AppProbersInvalidError) throw new InputError(err.message);
      throw err;
    }
    const injectedPod = {
      appProbers: Object.keys(probers).length > 0 ? { probers, podIp: process.env[POD_ENV.podIp] } : undefined,
      outboundQuietMs: OUTBOUND_QUIET_MS[process.env[MESHLET_ENV.sidecarMode] === 'legacy' ? 'legacy' : 'native'],
    };
    // ---- end injected pod ----
    // ---- identity (issue 9): mTLS with a certificate from the controller's CA ----
    const rootCaFile = values['root-ca-file'] ?? process.env[MESHLET_ENV.rootCaFile];
    let mtlsMode: MtlsMode;
    try {
      mtlsMode = parseMtlsMode(values['mtls-mode'] ?? process.env[MESHLET_ENV.mtlsMode], values['mtls-mode'] ? '--mtls-mode' : MESHLET_ENV.mtlsMode);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    let defaultInboundPolicy: DefaultInboundPolicy;
    try {
      defaultInboundPolicy = parseDefaultInboundPolicy(values['default-inbound-policy'] ?? process.env[MESHLET_ENV.defaultInboundPolicy], values['default-inbound-policy'] ? '--default-inbound-policy' : MESHLET_ENV.defaultInboundPolicy);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    // ---- end identity ----
    // Cluster networks (Linkerd's clusterNetworks): a bad range stops the agent before it holds sockets.
    let clusterNetworks: ClusterNetworks;
    try {
      const given = values['cluster-networks'] ?? process.env[MESHLET_ENV.clusterNetworks];
      clusterNetworks = parseClusterNetworks(given ?? DEFAULT_CLUSTER_NETWORKS, values['cluster-networks'] !== undefined ? '--cluster-networks' : given !== undefined ? MESHLET_ENV.clusterNetworks : 'cluster networks');
    } catch (err) {
      if (err instanceof ClusterNetworksInvalidError) throw new UsageError(err.message);
      throw err;
    }
    if (values.controller) log(`cluster networks ${clusterNetworks.cidrs.join(',')}: a new destination inside them waits for the controller, any other goes straight through`);
    // ---- telemetry (issue 11): metrics on /metrics, traces over OTLP, access logs ----
    let telemetry: ReturnType<typeof startTelemetry>;
    try {
      telemetry = startTelemetry(telemetryConfigFromEnv('sidecar', {
        ...process.env, ...(values.pod ? { [POD_ENV.podName]: values.pod } : {}), [POD_ENV.podNamespace]: namespace,
        // The proxy's own principal in its metric labels: the flag, as for the certificate.
        ...(values['service-account'] ? { [POD_ENV.serviceAccount]: values['service-account'] } : {}),
      },
        { accessLog: values['access-log'], otlp: values.otlp, traceSampling: values['trace-sampling'] }, 0.01, log));
    } catch (err) {
      if (err instanceof MeshletError) throw new UsageError(err.message);
      throw err;
    }
    if (telemetry.tracing) log(`tracing: exporting spans to ${telemetry.tracing}`);
    // ---- end telemetry ----
    // Each source's modules are loaded only in its mode (ADR 0012: idle memory): the controller
    // channel (ws, the identity client), the file source (yaml, translation), the file-mode CA.
    // All before the privilege drop below.
    const controllerMode = values.controller ? await import('./controller-source.ts') : null;
    const controllerClientMetrics = values.controller ? (await import('../agent/controller-client/index.ts')).controllerClientMetrics : null;
    const client = controllerMode && values.controller
      ? controllerMode.controllerSource({ controller: values.controller, mode: 'sidecar', pod: values.pod, namespace, serviceAccount: values['service-account'], tokenFile: values['token-file'], rootCaFile, log })
      : null;
    const certificates = controllerMode && client && values['token-file'] && !values['no-mtls'] ? await controllerMode.workloadCertificates(client, values['token-file'], log) : null;
    // ---- file-mode mTLS and --app-port (issue 9 measured) ----
    let fileCertificates: Awaited<ReturnType<typeof fileModeCertificates>> = null;
    if (!client && !values['no-mtls']) {
      const sa = values['service-account'] ?? process.env[POD_ENV.serviceAccount] ?? 'default';
      try {
        fileCertificates = await (await import('./file-identity.ts')).fileModeCertificates(values.config!, namespace, sa, log);
      } catch (err) {
        throw new InputError(`Secret meshlet-system/meshlet-ca in ${values.config!}: ${(err as Error).message}`);
      }
      log(fileCertificates
        ? `mTLS: workload certificate for ${namespace}/${sa} issued from Secret meshlet-system/meshlet-ca in ${values.config!}`
        : `plaintext: ${values.config!} has no Secret meshlet-system/meshlet-ca, so no workload certificate (mTLS off)`);
    }
    const appPort = values['app-port'] === undefined ? undefined : portFlag(values['app-port'], 0, 'app-port');
    let inboundPortNow = portFlag(values['inbound-port'], PORTS.inbound, 'inbound-port');
    const originalDestination = withAppPort(nativeAddonAvailable() ? tryOriginalDestination : undefined, appPort, appHostFor(values.host), () => inboundPortNow);
    // ---- end file-mode mTLS and --app-port ----
    const source = client ?? await (await import('./open-file-source.ts')).openFileSource({ dir: values.config!, log, reportKinds: ['HTTPRoute', 'GRPCRoute'] });
    // Issue 15: if a port cannot be bound, release everything else started so far and fail
    // (exit 2 with the reason), rather than linger half-started without /ready.
    const stopSources = async (): Promise<void> => {
      await certificates?.stop();
      await fileCertificates?.stop();
      await telemetry.shutdown();
      source.close();
    };
    const proxy = await startSidecar({
      ...injectedPod,
      namespace,
      source,
      host: values.host,
      ports: {
        outbound: portFlag(values['outbound-port'], PORTS.outbound, 'outbound-port'),
        inbound: portFlag(values['inbound-port'], PORTS.inbound, 'inbound-port'),
        admin: portFlag(values['admin-port'], PORTS.admin, 'admin-port'),
      },
      originalDestination,
      explicit: !values['no-explicit'],
      log: logger,
      ...(client ? { onUnknownDestination: (address: string, port: number) => client.ensureDestination(address, port), clusterNetworks } : {}),
      ...(certificates ? { identity: { certificates, mode: mtlsMode } } : {}),
      ...(fileCertificates ? { identity: { certificates: fileCertificates, mode: mtlsMode } } : {}),
      defaultInboundPolicy,
      defaultRequestTimeoutMs,
      streamIdleTimeoutMs,
      h1Fast: h1FastFlag(values),
      metrics: [telemetry.metrics, ...(certificates ? [() => certificates.metrics()] : []), ...(client && controllerClientMetrics ? [() => controllerClientMetrics(client)] : [])], // telemetry and config-channel health (issue 11); certificate expiry (issue 9)
    }).catch(async (err: unknown) => {
      await stopSources();
      throw err;
    });
    inboundPortNow = proxy.ports.inbound ?? inboundPortNow; // file-mode mTLS and --app-port: 0 picked a port
    if (values.uid !== undefined) {
      // What the agent may still load lazily is loaded while it can read anything.
      preloadLazyModules();
      loadRegexEngine(); // otherwise loaded with the first regular expression a table brings
      // Imported here: the rest of agent/intercept is `meshlet init`'s (iptables, child_process).
      (await import('../agent/intercept/index.ts')).dropPrivileges(portFlag(values.uid, AGENT_UID, 'uid'));
    }
    log(`namespace ${namespace}; listening on ${Object.entries(proxy.ports).map(([k, v]) => `${k} ${values.host}:${v}`).join(', ')}`);
    // Idle memory (ADR 0012): one GC once the start's garbage and workers are gone.
    const reclaim = scheduleStartupReclaim({ log, delayMs: reclaimDelayMs });
    return serveUntilStopped(io, log, proxy, drainMs, async () => {
      reclaim.cancel();
      await certificates?.stop();
      await fileCertificates?.stop(); // file-mode mTLS
      await proxy.close();
      await telemetry.shutdown(); // telemetry (issue 11): flush queued spans after the last request
      source.close();
    });
  },
};
