// `meshlet ingress`: the shared ingress, i.e. the agent in gateway mode. It serves the listeners
// of every Gateway of meshlet's class found in the manifests (file mode: --config DIR) or sent
// by the controller (--controller URL, subscribed to all Gateways), binding each listener port,
// and follows changes without a restart.
import { parseArgs } from 'node:util';
import { PORTS } from '../api/names.ts';
import { startIngress } from '../ingress/index.ts';
import type { Command } from './command.ts';
import { SecureContextCache } from '../agent/identity/tls-options.ts';
import { MESHLET_ENV } from '../api/pod-env.ts';
import { startTelemetry, telemetryConfigFromEnv } from '../agent/telemetry/index.ts'; // telemetry (issue 11)
import { MeshletError } from '../api/errors.ts'; // telemetry (issue 11)
import { POD_ENV } from '../api/pod-env.ts'; // telemetry (issue 11)
import { UsageError } from './usage-error.ts'; // telemetry (issue 11)
import { scheduleStartupReclaim, STARTUP_RECLAIM_MS } from '../agent/lifecycle/startup-reclaim.ts';
import { checkProxySource, commandLogger, DEFAULT_REQUEST_TIMEOUT_HELP, h1FastHelp, H1_FAST_OPTIONS, h1FastFlag, STREAM_IDLE_TIMEOUT_HELP, streamIdleTimeoutFlag, defaultRequestTimeoutFlag, drainFlag, LOG_HELP, LOG_OPTIONS, portFlag, PROXY_SOURCE_OPTIONS, serveUntilStopped, startupReclaimFlag } from './flags.ts';

const HELP = `Usage: meshlet ingress (--config DIR | --controller URL) [flags]

Serves the listeners of the Gateways of meshlet's GatewayClass (controllerName
meshlet.dev/gateway-controller) found in DIR or sent by the controller: HTTP, and HTTPS terminated with the
listener's certificate chosen by SNI. Changes apply within a second, without a restart.

Flags:
  --config DIR        manifest directory standing in for the Kubernetes API
  --controller URL    the controller's config stream, e.g. ws://meshlet-controller.meshlet:${PORTS.controller}
                      (the ingress subscribes to every Gateway of meshlet's class)
  --token-file FILE   the ingress's ServiceAccount token (projected, audience meshlet-ca): it
                      proves the ingress to a controller running the mesh CA and earns its
                      workload certificate (mTLS to meshed backends); or the shared bearer
                      token of a controller started with --ingress-token-file. Without it, a
                      controller serves Gateways only to connections from its own host
  --root-ca-file FILE the mesh's root bundle: verifies a wss:// controller (default:
                      $MESHLET_ROOT_CA_FILE)
  --no-mtls           no workload certificate even with --controller and --token-file
  --pod NAME          sent to the controller (default: $POD_NAME or the hostname)
  --namespace NS      sent to the controller (default: $POD_NAMESPACE or default)
  --host ADDR         bind address (default 0.0.0.0)
  --address IP        the address reported in Gateway status (default: --host unless 0.0.0.0;
                      repeatable). A Gateway is Programmed only once it has an address.
  --port-offset N     bind listener ports below 1024 at port+N (e.g. 8000: 80 → 8080), for
                      running without root; the Gateway's own ports are unchanged
  --admin-port N      default ${PORTS.admin} (/ready, /live, /config_dump, /metrics)
  --drain-seconds N   on SIGTERM, finish in-flight requests for up to N seconds (default 20)
  --startup-reclaim-seconds N
                      once idle this long after the start, one memory-reducing collection and
                      malloc trim give back what the start left (default ${STARTUP_RECLAIM_MS / 1000}; 0: never)
${h1FastHelp(22)}
  --access-log FORMAT json or text: one line per request on stdout (default: $MESHLET_ACCESS_LOG, off)
  --otlp URL          export traces over OTLP/HTTP to URL (default: $OTEL_EXPORTER_OTLP_ENDPOINT;
                      no endpoint, no tracing); the other OTEL_* variables are honoured
  --trace-sampling R  root sampling ratio in [0, 1] (default: $OTEL_TRACES_SAMPLER_ARG or 0.01)
${DEFAULT_REQUEST_TIMEOUT_HELP}
${STREAM_IDLE_TIMEOUT_HELP}
${LOG_HELP}
`;

export const ingressCommand: Command = {
  name: 'ingress',
  summary: 'run the shared ingress for Gateways (--config DIR or --controller URL)',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        ...PROXY_SOURCE_OPTIONS,
        ...LOG_OPTIONS,
        'host': { type: 'string', default: '0.0.0.0' },
        'address': { type: 'string', multiple: true, default: [] },
        'port-offset': { type: 'string', default: '0' },
        'root-ca-file': { type: 'string' },
        'no-mtls': { type: 'boolean', default: false },
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
    const offset = portFlag(values['port-offset'], 0, 'port-offset');
    const drainMs = drainFlag(values['drain-seconds']);
    const reclaimDelayMs = startupReclaimFlag(values['startup-reclaim-seconds'], STARTUP_RECLAIM_MS);
    const addresses = values.address.length > 0 ? values.address : values.host !== '0.0.0.0' && values.host !== '::' ? [values.host] : [];
    const logger = commandLogger('meshlet ingress', values, io);
    // The mesh config reaches a sidecar as these variables: a bad one is logged, the default kept.
    const defaultRequestTimeoutMs = defaultRequestTimeoutFlag(values['default-request-timeout'], process.env[MESHLET_ENV.defaultRequestTimeout], (m) => logger.warn(m));
    const streamIdleTimeoutMs = streamIdleTimeoutFlag(values['stream-idle-timeout'], process.env[MESHLET_ENV.streamIdleTimeout], (m) => logger.warn(m));
    const log = (line: string): void => logger.info(line);
    // ---- telemetry (issue 11): metrics on /metrics, traces over OTLP, access logs ----
    let telemetry: ReturnType<typeof startTelemetry>;
    try {
      telemetry = startTelemetry(telemetryConfigFromEnv('ingress', { ...process.env, ...(values.pod ? { [POD_ENV.podName]: values.pod } : {}), [POD_ENV.podNamespace]: namespace },
        { accessLog: values['access-log'], otlp: values.otlp, traceSampling: values['trace-sampling'] }, 0.01, log));
    } catch (err) {
      if (err instanceof MeshletError) throw new UsageError(err.message);
      throw err;
    }
    if (telemetry.tracing) log(`tracing: exporting spans to ${telemetry.tracing}`);
    // ---- end telemetry ----
    // Each source's modules are loaded only in its mode (ADR 0012: idle memory): the controller
    // channel (ws, the identity client with node-forge) or the file source (yaml, translation).
    const controllerMode = values.controller ? await import('./controller-source.ts') : null;
    const controllerClientMetrics = values.controller ? (await import('../agent/controller-client/index.ts')).controllerClientMetrics : null;
    const client = controllerMode && values.controller
      ? controllerMode.controllerSource({
        controller: values.controller, mode: 'ingress', pod: values.pod, namespace,
        targets: [{ kind: 'gateways' }], tokenFile: values['token-file'], rootCaFile: values['root-ca-file'] ?? process.env[MESHLET_ENV.rootCaFile], log,
      })
      : null;
    const source = client ?? await (await import('./open-file-source.ts')).openFileSource({ dir: values.config!, log, ingressAddresses: addresses });
    // The ingress's own identity: mTLS to meshed backends, like any sidecar.
    const certificates = controllerMode && client && values['token-file'] && !values['no-mtls'] ? await controllerMode.workloadCertificates(client, values['token-file'], log) : null;
    const ingress = await startIngress({
      source,
      host: values.host,
      bindPort: (p) => (p < 1024 ? p + offset : p),
      adminPort: portFlag(values['admin-port'], PORTS.admin, 'admin-port'),
      log: logger,
      mtls: certificates ? new SecureContextCache(certificates) : null,
      defaultRequestTimeoutMs,
      streamIdleTimeoutMs,
      h1Fast: h1FastFlag(values),
      metrics: [telemetry.metrics, ...(certificates ? [() => certificates.metrics()] : []), ...(client && controllerClientMetrics ? [() => controllerClientMetrics(client)] : [])], // telemetry and config-channel health (issue 11); certificate expiry (issue 9)
    }).catch(async (err: unknown) => {
      // The admin port could not be bound (issue 15): release the rest and exit with the reason.
      await certificates?.stop();
      await telemetry.shutdown();
      source.close();
      throw err;
    });
    const bound = [...ingress.listenerPorts()].map(([gw, port]) => (gw === port ? `${port}` : `${gw}→${port}`));
    const failed = [...ingress.listenerStates()].flatMap(([gw, st]) => (st.programmed ? [] : [`${gw}`]));
    log(`listening on ${values.host}: ${bound.join(', ') || (failed.length ? 'none' : 'no Gateway listeners yet')}${failed.length ? `; not programmed: ${failed.join(', ')} (see above)` : ''}; admin ${ingress.ports.admin}`);
    // Idle memory (issue 16, ADR 0023): the same one collection and malloc trim once the start has
    // settled as the agent's (ADR 0012); without it an idle ingress kept ~7 MB of start-up garbage
    // and a grown young generation for as long as it ran.
    const reclaim = scheduleStartupReclaim({ log, delayMs: reclaimDelayMs });
    return serveUntilStopped(io, log, ingress, drainMs, async () => {
      reclaim.cancel();
      await certificates?.stop();
      await telemetry.shutdown(); // telemetry (issue 11)
      source.close();
    });
  },
};
