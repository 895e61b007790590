// `meshlet dev [DIR]`: the embedded default. A whole mesh on loopback, as a normal user: every
// pod the manifests place on a 127.x address gets a sample workload behind its own sidecar
// (inbound on the pod's address and port, app on port+10000), each namespace with routes gets a
// client sidecar in explicit outbound mode, and one ingress serves the Gateways (ports below
// 1024 shifted by --port-offset). All of them follow the directory: edit a route and the next
// request sees it. It prints the commands to try and what each answer shows.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type net from 'node:net';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { startIngress } from '../../ingress/index.ts';
import { startTelemetry, telemetryConfigFromEnv } from '../../agent/telemetry/index.ts'; // telemetry (issue 11)
import { MeshletError } from '../../api/errors.ts'; // telemetry (issue 11)
import { readManifests } from '../../controller/provider/file/index.ts';
import type { Command, Io } from '../command.ts';
import type { CertificateManager } from '../../agent/identity/index.ts';
import { SecureContextCache } from '../../agent/identity/index.ts';
import { spiffeId } from '../../api/names.ts';
import { devCa, devCertificates, devPods, DEV_CLIENT_SERVICE_ACCOUNT, DEV_INGRESS_IDENTITY, serviceAccountOf } from './dev-identity.ts';
import { FileTableSource } from '../../controller/provider/file/index.ts';
import { portFlag } from '../flags.ts';
import { UsageError } from '../usage-error.ts';
import { startEchoServer, type EchoServer } from './echo-workload.ts';
import { applicableDemos, curlFor, demos } from './demos.ts';
import { APP_PORT_SHIFT, clientPort, planDev, type PodPlan } from './plan.ts';
import { runDemo } from './run-demo.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

const HELP = `Usage: meshlet dev [DIR] [flags]

Runs a whole local mesh on loopback, no cluster and no root, from the manifests in DIR
(default: meshlet's examples/): a sample workload (echo server) behind its own sidecar for every
pod the EndpointSlices place on a 127.x address, a client sidecar per namespace with routes
(explicit outbound mode: address Services by name in the Host header), and an ingress for the
Gateways. Edits to DIR apply within a second. Prints what to curl and what each answer shows.

Flags:
  --port-offset N    ingress listener ports below 1024 bind at port+N (default ${isRoot ? 0 : 8000}${isRoot ? ' as root' : ''})
  --client-port N    outbound port of namespace default's client sidecar (default 15001;
                     further namespaces get +100 each)
  --check            run every suggested request, report, and exit (0 if all behave)
  --otlp URL         send every request's trace (100% sampled) to an OTLP/HTTP collector such
                     as Jaeger's :4318 (default: $OTEL_EXPORTER_OTLP_ENDPOINT; none, no traces)
  --access-log F     json or text: one line per request on stdout

Linux only: pods use distinct loopback addresses (127.0.30.1, ...), which Linux routes without
configuration.
`;

function say(io: Io, line: string): void {
  io.stdout.write(`${line}\n`);
}

async function startPod(pod: PodPlan, source: FileTableSource, log: (l: string) => void, certificates: CertificateManager): Promise<{ app: EchoServer; sidecar: RunningProxy }> {
  const inbound = pod.ports[0]!;
  const app = await startEchoServer({ pod: pod.pod, namespace: pod.namespace, host: pod.address, port: inbound + APP_PORT_SHIFT });
  // Without iptables nothing redirects: connections to the pod's inbound port are what would
  // have been redirected, so their original destination is the pod's port (as the
  // EndpointSlice and any AuthorizationPolicy know it); the app listens APP_PORT_SHIFT above it.
  let inboundPort = inbound;
  const sidecar = await startSidecar({
    namespace: pod.namespace,
    source,
    host: pod.address,
    ports: { outbound: 15001, inbound, admin: 15020 },
    inboundAppAddress: pod.address,
    originalDestination: (socket: net.Socket) => (socket.localPort === inboundPort ? { address: pod.address, port: inbound, redirected: true } : null),
    inboundAppPortFor: (port) => port + APP_PORT_SHIFT,
    explicit: true,
    log: (l) => log(`${pod.pod}: ${l}`),
    identity: { certificates },
  });
  inboundPort = sidecar.ports.inbound ?? inbound;
  return { app, sidecar };
}

export const devCommand: Command = {
  name: 'dev',
  summary: 'run a whole local mesh on loopback from examples/ (or DIR)',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        'port-offset': { type: 'string' },
        'client-port': { type: 'string' },
        'check': { type: 'boolean', default: false },
        'otlp': { type: 'string' }, // telemetry (issue 11)
        'access-log': { type: 'string' }, // telemetry (issue 11)
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 1) throw new UsageError(`expected at most one directory, got ${positionals.length}`);
    const dir = positionals[0] ?? EXAMPLES;
    const offset = portFlag(values['port-offset'], isRoot ? 0 : 8000, 'port-offset');
    const clientBase = portFlag(values['client-port'], 15001, 'client-port');
    const log = (l: string): void => void io.stderr.write(`  [mesh] ${l}\n`);

    let read;
    try {
      read = await readManifests(dir);
    } catch (err) {
      throw new UsageError(`cannot read ${dir}: ${(err as Error).message}`);
    }
    const objects = read.objects.map((o) => o.object);
    const plan = planDev(objects);
    say(io, `meshlet dev: ${objects.length} objects from ${dir}`);

    const stops: (() => Promise<unknown>)[] = [];
    const stopAll = async (): Promise<void> => {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    };
    // ---- telemetry (issue 11): every hop runs in this process, so one subscriber sees them all ----
    let telemetry: ReturnType<typeof startTelemetry>;
    try {
      const config = telemetryConfigFromEnv('sidecar', { OTEL_SERVICE_NAME: 'meshlet-dev', ...process.env }, { otlp: values.otlp, accessLog: values['access-log'] }, 1, log);
      telemetry = startTelemetry({ ...config, metrics: false });
    } catch (err) {
      if (err instanceof MeshletError) throw new UsageError(err.message);
      throw err;
    }
    stops.push(() => telemetry.shutdown()); // pushed first: runs last, after the proxies drained
    say(io, telemetry.tracing
      ? `traces: every request is sampled and sent to ${telemetry.tracing}; with Jaeger, open http://localhost:16686 (service meshlet-dev)`
      : 'traces: off (--otlp http://localhost:4318 or OTEL_EXPORTER_OTLP_ENDPOINT sends them to Jaeger)');
    // ---- end telemetry ----
    try {
      // mTLS on by default: one CA for the run, every dev pod a meshed Pod with a service account.
      const { ca, source: caSource } = devCa(objects);
      const pods = devPods(plan.pods, objects);
      const source = new FileTableSource({ dir, log, ingressAddresses: ['127.0.0.1'], extraObjects: pods }).start();
      stops.push(() => Promise.resolve(source.close()));
      await source.ready();

      say(io, `mutual TLS between every sidecar and the ingress; mesh CA ${caSource}`);
      say(io, `starting ${plan.pods.length} workload(s), each behind its own sidecar:`);
      for (const [i, pod] of plan.pods.entries()) {
        const sa = serviceAccountOf(pods[i]!);
        const certificates = await devCertificates(ca, pod.namespace, sa);
        stops.push(() => certificates.stop());
        const { app, sidecar } = await startPod(pod, source, log, certificates);
        stops.push(() => app.close(), () => sidecar.close());
        say(io, `  ✓ ${pod.namespace}/${pod.pod}  ${pod.address}:${pod.ports[0]} (sidecar, ${spiffeId(pod.namespace, sa)}) → app :${app.port}`);
      }
      const ports: Record<string, number> = {};
      for (const ns of plan.clientNamespaces) {
        const port = clientPort(plan, ns, clientBase);
        const clientCerts = await devCertificates(ca, ns, DEV_CLIENT_SERVICE_ACCOUNT);
        stops.push(() => clientCerts.stop());
        const client = await startSidecar({ namespace: ns, source, host: '127.0.0.1', ports: { outbound: port, inbound: 0, admin: 0 }, explicit: true, log: (l) => log(`client ${ns}: ${l}`), identity: { certificates: clientCerts } });
        stops.push(() => client.close());
        ports[ns] = port;
        say(io, `  ✓ client sidecar for namespace ${ns}: http://127.0.0.1:${port} (Host: <service>.<namespace>:<port>, or use it as an HTTP proxy)`);
      }
      const ingressCerts = await devCertificates(ca, DEV_INGRESS_IDENTITY.namespace, DEV_INGRESS_IDENTITY.serviceAccount);
      stops.push(() => ingressCerts.stop());
      const ingress = await startIngress({ source, host: '127.0.0.1', bindPort: (p) => (p < 1024 ? p + offset : p), adminPort: 0, log: (l) => log(`ingress: ${l}`), mtls: new SecureContextCache(ingressCerts) });
      stops.push(() => ingress.close());
      const bound = ingress.listenerPorts();
      say(io, `  ✓ ingress on 127.0.0.1: ${[...bound].map(([g, b]) => (g === b ? `${g}` : `${g} → ${b}`)).join(', ') || 'no Gateway listeners'}`);

      const shown = applicableDemos(demos({ client: ports.default ?? clientBase, http: bound.get(80) ?? 80 + offset, https: bound.get(443) ?? 443 + offset }), objects);
      if (values.check) {
        let failed = 0;
        for (const d of shown) {
          const problem = await runDemo(d);
          if (problem) failed++;
          say(io, `${problem ? '✗' : '✓'} ${d.title}${problem ? `: ${problem}` : ''}`);
        }
        say(io, `${shown.length - failed} passed, ${failed} failed`);
        return failed === 0 ? 0 : 1;
      }
      say(io, '\nReady. Try these (each answer is explained below its command):\n');
      for (const d of shown) say(io, `# ${d.title}\n${curlFor(d)}\n#   → ${d.shows}\n`);
      if (shown.length === 0) say(io, `Call a Service through the client sidecar: curl -H 'Host: <service>.<namespace>:<port>' http://127.0.0.1:${ports.default ?? clientBase}/\n`);
      say(io, `Why a request goes where it goes:  npx meshlet explain -f ${dir} 'GET http://reviews:9080/' --from default`);
      say(io, `Edit the manifests in ${dir}: changes apply within a second. Ctrl-C stops everything.`);
      const signal = await io.stopSignal;
      say(io, `\n${signal}: stopping`);
      return 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new UsageError(`${(err as Error).message}: is another 'meshlet dev' running? (--client-port and --port-offset move the fixed ports)`);
      }
      throw err;
    } finally {
      await stopAll();
    }
  },
};
