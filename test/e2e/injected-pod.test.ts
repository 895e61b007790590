// e2e: an injected pod run the way the kubelet runs it. A sample pod (an app with an httpGet
// readiness probe on a named port, a tcpSocket liveness probe and a gRPC startup probe) goes
// through inject(); then, in fresh network namespaces: the meshlet-init container's args, the
// meshlet-proxy container's args and env (as uid/gid 1337, its securityContext; the controller
// swapped for file mode, downward-API fields filled in), the kubelet's wait for the proxy
// (native: its startupProbe; legacy: its postStart hook, `meshlet wait`), then the app.
// Native: a user init container reaches a Service through the ready proxy; the app's outbound
// and inbound traffic go through the agent; the rewritten probes answer on the admin port from
// the node, as the kubelet calls them. Legacy: SIGTERM reaches the app and the agent at once,
// and the order holds (inbound refused, the draining app's call out served, the agent exits 0
// after).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTAINER_NAMES } from '../../api/pod-env.ts';
import { inject, resolveMeshConfig, type Container, type Pod as PodObject } from '../../injector/inject/index.ts';
import { NetnsLab, type LabProcess, type Pod } from '../support/netns.ts';
import { idsOf, meshlet, NODE } from './cli.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const NS = 'shop';
const ECHO_IP = '10.96.0.20';
const APP_IP = '10.244.0.50';

const SAMPLE: PodObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-0', namespace: NS, labels: { app: 'web' } },
  spec: {
    containers: [{
      name: 'web',
      image: 'example/web:1',
      ports: [{ name: 'http', containerPort: 8080 }, { name: 'grpc', containerPort: 9090 }],
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
      livenessProbe: { tcpSocket: { port: 8080 } },
      startupProbe: { grpc: { port: 9090 }, failureThreshold: 30 },
    }],
  },
};

/** The app: HTTP on 8080 (/healthz fails after /break), grpc.health.v1 SERVING on 9090. */
const APP = `
import http from 'node:http';
import http2 from 'node:http2';
let healthy = true;
const web = http.createServer((q, s) => {
  if (q.url === '/break') healthy = false;
  if (q.url === '/healthz') s.statusCode = healthy ? 200 : 500;
  s.setHeader('content-type', 'application/json');
  s.end(JSON.stringify({ app: 'web', from: q.socket.remoteAddress, userAgent: q.headers['user-agent'] }));
});
const grpc = http2.createServer();
grpc.on('stream', (st) => {
  st.resume();
  st.on('end', () => {
    st.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    st.on('wantTrailers', () => st.sendTrailers({ 'grpc-status': '0' }));
    st.end(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
  });
});
await Promise.all([new Promise((r) => web.listen(8080, '::', r)), new Promise((r) => grpc.listen(9090, '::', r))]);
console.log('{"ready":true}');
`;

/** Native mode: a user init container (its work in the lab: one call to the echo Service). */
const WITH_INIT: PodObject = { ...SAMPLE, spec: { ...SAMPLE.spec, initContainers: [{ name: 'migrate', image: 'example/migrate:1' }] } };

/** Legacy mode's shutdown: on SIGTERM the app stops accepting and, a second later, still calls out. */
const APP_DRAINING = `${APP}
process.on('SIGTERM', () => {
  web.close();
  grpc.close();
  setTimeout(() => {
    const done = (calledOut) => {
      console.log(JSON.stringify({ calledOut }));
      process.exit(0);
    };
    http.get('http://${ECHO_IP}/', { agent: false }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode));
    }).on('error', (e) => done(e.code));
  }, 1000);
});
`;

const ECHO_SERVICE = `apiVersion: v1
kind: Service
metadata: {name: echo, namespace: ${NS}}
spec:
  clusterIP: ${ECHO_IP}
  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP, appProtocol: http}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-abcde, namespace: ${NS}, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- {addresses: [10.244.0.51], conditions: {ready: true, serving: true, terminating: false}, targetRef: {kind: Pod, name: echo-0, namespace: ${NS}}}
`;

/** What the downward API gives a container for `fieldPath` in this world. */
function fieldValue(pod: PodObject, fieldPath: string, podIp: string): string {
  const values: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'status.podIP': podIp,
    'spec.serviceAccountName': (pod.spec.serviceAccountName as string | undefined) ?? 'default', // the API server's default
    'spec.nodeName': 'lab-node',
  };
  const v = values[fieldPath];
  if (v === undefined) throw new Error(`the lab has no downward-API value for ${fieldPath}`);
  return v;
}

/** `env -i NAME=value ...` for a container, as the kubelet would set its environment. */
function containerEnv(pod: PodObject, c: Container, podIp: string): string[] {
  const out = [`PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`];
  for (const e of c.env ?? []) {
    const ref = (e.valueFrom as { fieldRef?: { fieldPath: string } } | undefined)?.fieldRef;
    out.push(`${e.name}=${ref ? fieldValue(pod, ref.fieldPath, podIp) : e.value ?? ''}`);
  }
  return ['env', '-i', ...out];
}

/** The container's securityContext user, as the runtime would start it. */
function runAs(c: Container): string[] {
  const sc = c.securityContext as { runAsUser?: number; runAsGroup?: number } | undefined;
  if (!sc?.runAsUser) return [];
  return ['setpriv', `--reuid=${sc.runAsUser}`, `--regid=${sc.runAsGroup ?? sc.runAsUser}`, '--clear-groups'];
}

/** The image's entrypoint is the meshlet binary: its args run the lab's meshlet. */
function proxyArgs(c: Container, configDir: string): string[] {
  const args = [...(c.args as string[])];
  assert.deepEqual(args.slice(0, 2), ['agent', '--controller'], 'the proxy runs the agent against the controller');
  // No controller in this lab: the agent's other mode reads the same tables from a directory.
  return ['agent', '--config', configDir];
}

function byName(list: Container[] | undefined, name: string): Container {
  const c = list?.find((x) => x.name === name);
  assert.ok(c, `no container ${name}`);
  return c;
}

interface HttpResult {
  status?: number;
  body?: string;
  error?: string;
}

const parse = (stdout: string): HttpResult => JSON.parse(stdout.trim()) as HttpResult;

/** The lab with one injected pod (`app`) started container by container, as the kubelet would. */
class PodWorld {
  lab!: NetnsLab;
  app!: Pod;
  client!: Pod;
  configDir = '';
  injected!: PodObject;
  agent!: LabProcess;
  appProcess!: LabProcess;
  hook: { code: number | null; stdout: string; stderr: string } | null = null;
  /** What each user init container's call to the echo Service got. */
  userInits = new Map<string, HttpResult>();

  /** An HTTP GET as the kubelet makes it: from the node, to the pod IP. */
  async kubelet(path: string, port: number): Promise<HttpResult> {
    return parse((await this.lab.nodeExec([NODE, fixture('http-client.ts'), '--url', `http://${APP_IP}:${port}${path}`, '--header', 'User-Agent: kube-probe/1.31'])).stdout);
  }

  /** The probe of container `name`'s `field`, after injection, as the kubelet would send it. */
  probe(name: string, field: 'readinessProbe' | 'livenessProbe' | 'startupProbe'): Promise<HttpResult> {
    const get = (byName(this.injected.spec.containers, name)[field] as { httpGet: { path: string; port: number } }).httpGet;
    return this.kubelet(get.path, get.port);
  }

  /** Polls like a kubelet probe: a bounded number of periods until it passes. */
  async until(what: string, check: () => Promise<HttpResult>, periods = 60): Promise<void> {
    let last: HttpResult = {};
    for (let i = 0; i < periods; i++) {
      last = await check();
      if (last.status === 200) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${what} never passed: ${JSON.stringify(last)}\nagent: ${this.agent?.stderr ?? ''}`);
  }

  /** A GET from inside a pod (as root, so intercepted when the pod is meshed). */
  async get(from: Pod, url: string): Promise<HttpResult> {
    return parse((await from.exec([NODE, fixture('http-client.ts'), '--url', url])).stdout);
  }

  async start(pod: PodObject, appScript: string): Promise<void> {
    const result = inject(pod, { name: NS }, resolveMeshConfig());
    assert.equal(result.injected, true);
    this.injected = result.pod;
    this.lab = await NetnsLab.create();
    this.app = await this.lab.addPod('app', { ipv4: APP_IP });
    const echo = await this.lab.addPod('echo', { ipv4: '10.244.0.51' });
    this.client = await this.lab.addPod('client', { ipv4: '10.244.0.52' });
    this.configDir = mkdtempSync(join(tmpdir(), 'meshlet-e2e-injected-'));
    chmodSync(this.configDir, 0o755); // the agent reads it as uid 1337
    writeFileSync(join(this.configDir, 'echo.yaml'), ECHO_SERVICE, { mode: 0o644 });
    await echo.spawn([NODE, fixture('echo.ts'), '--pod', 'echo-0', '--namespace', NS]).waitForLine(/"ready":true/);

    const spec = this.injected.spec;
    // 1. meshlet-init, first of the init containers, runs to completion.
    const init = byName(spec.initContainers, CONTAINER_NAMES.init);
    await this.app.exec([...containerEnv(this.injected, init, APP_IP), ...meshlet(...(init.args as string[]))], { timeoutMs: 30_000 });
    const native = spec.initContainers?.some((c) => c.name === CONTAINER_NAMES.proxy) ?? false;
    const proxy = byName(native ? spec.initContainers : spec.containers, CONTAINER_NAMES.proxy);
    this.agent = this.app.spawn([...containerEnv(this.injected, proxy, APP_IP), ...runAs(proxy), ...meshlet(...proxyArgs(proxy, this.configDir))]);
    if (native) {
      // 2. The native sidecar: the kubelet starts the next container once its startupProbe passes.
      assert.equal(proxy.restartPolicy, 'Always');
      const startup = (proxy.startupProbe as { httpGet: { path: string; port: number } }).httpGet;
      await this.until('the proxy\'s startupProbe', () => this.kubelet(startup.path, startup.port));
    } else {
      // 2. Legacy: the first container's postStart hook holds the next containers until it returns.
      const command = (proxy.lifecycle as { postStart: { exec: { command: string[] } } }).postStart.exec.command;
      assert.deepEqual(command, ['meshlet', 'wait']);
      this.hook = await this.app.exec([...containerEnv(this.injected, proxy, APP_IP), ...runAs(proxy), ...meshlet(...command.slice(1))], { timeoutMs: 90_000, allowFail: true });
      assert.equal(this.hook.code, 0, `${this.hook.stderr}\nagent: ${this.agent.stderr}`);
    }
    // 3. The user's init containers, in order (native: after the proxy, so with the network).
    for (const c of spec.initContainers ?? []) {
      if (c.name !== CONTAINER_NAMES.init && c.name !== CONTAINER_NAMES.proxy) this.userInits.set(c.name, await this.get(this.app, `http://${ECHO_IP}/`));
    }
    // 4. The app container (run as root: it has no securityContext), after its proxy.
    this.appProcess = this.app.spawn([NODE, '--input-type=module', '-e', appScript]);
    await this.appProcess.waitForLine(/"ready":true/);
  }

  async destroy(): Promise<void> {
    await this.lab?.destroy();
    if (this.configDir) rmSync(this.configDir, { recursive: true, force: true });
  }
}

describe('an injected pod (native sidecar), run as the kubelet runs it', { timeout: 180_000 }, () => {
  const w = new PodWorld();
  before(() => w.start(WITH_INIT, APP));
  after(() => w.destroy());

  test('the user\'s init container runs after the proxy is ready, and reaches a Service through it', () => {
    assert.deepEqual(w.injected.spec.initContainers?.map((c) => c.name), [CONTAINER_NAMES.init, CONTAINER_NAMES.proxy, 'migrate']);
    const r = w.userInits.get('migrate');
    assert.equal(r?.status, 200, JSON.stringify(r));
    assert.equal((JSON.parse(r.body!) as { pod: string }).pod, 'echo-0');
  });

  test('the proxy runs with the env the injector rendered, as uid 1337', async () => {
    assert.deepEqual(idsOf(w.agent.child.pid!), { uid: 1337, gid: 1337 });
    const dump = await w.get(w.app, 'http://127.0.0.1:15020/config_dump');
    assert.equal(dump.status, 200);
    assert.equal((JSON.parse(dump.body!) as { namespace: string }).namespace, NS, 'POD_NAMESPACE from the downward API');
  });

  test('the app\'s outbound call to a ClusterIP goes through the agent', async () => {
    const r = await w.get(w.app, `http://${ECHO_IP}/`);
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal((JSON.parse(r.body!) as { pod: string }).pod, 'echo-0');
  });

  test('inbound connections to the app are redirected to the agent, which delivers them', async () => {
    const redirected = async (): Promise<number> => {
      const save = (await w.app.exec(['iptables-save', '-c', '-t', 'nat'])).stdout;
      return Number(/^\[(\d+):\d+\] -A MESHLET_IN_REDIRECT /m.exec(save)?.[1] ?? NaN);
    };
    const before = await redirected();
    const r = await w.get(w.client, `http://${APP_IP}:8080/`);
    assert.equal(r.status, 200, JSON.stringify(r));
    // The agent connects to the app from the pod's own address, not the client's.
    assert.match((JSON.parse(r.body!) as { from: string }).from, new RegExp(`${APP_IP.replaceAll('.', '\\.')}$`));
    assert.equal(await redirected(), before + 1);
  });

  test('the rewritten probes answer on the admin port: httpGet (named port), tcpSocket, gRPC', async () => {
    const ready = await w.probe('web', 'readinessProbe');
    assert.equal(ready.status, 200, JSON.stringify(ready));
    assert.match(ready.body!, new RegExp(`^ok: GET http://${APP_IP.replaceAll('.', '\\.')}:8080/healthz: HTTP 200`));
    const live = await w.probe('web', 'livenessProbe');
    assert.equal(live.status, 200, JSON.stringify(live));
    assert.match(live.body!, /^ok: tcp 10\.244\.0\.50:8080: connected/);
    const startup = await w.probe('web', 'startupProbe');
    assert.equal(startup.status, 200, JSON.stringify(startup));
    assert.match(startup.body!, /^ok: grpc 10\.244\.0\.50:9090: SERVING/);
  });

  test('an app that turns unhealthy fails its readiness probe with the reason', async () => {
    await w.get(w.app, 'http://127.0.0.1:8080/break');
    const ready = await w.probe('web', 'readinessProbe');
    assert.equal(ready.status, 503);
    assert.match(ready.body!, /^failed: GET http:\/\/10\.244\.0\.50:8080\/healthz: HTTP 500/);
    assert.equal((await w.probe('web', 'livenessProbe')).status, 200, 'liveness (tcpSocket) still passes');
  });
});

describe('an injected pod in legacy mode: start behind meshlet wait, shut down in order', { timeout: 180_000 }, () => {
  const w = new PodWorld();
  const legacy: PodObject = { ...SAMPLE, metadata: { ...SAMPLE.metadata, annotations: { 'meshlet.dev/sidecar-mode': 'legacy' } } };
  before(() => w.start(legacy, APP_DRAINING));
  after(() => w.destroy());

  test('the postStart hook (meshlet wait) returned once the proxy was ready, then the app started', async () => {
    assert.match(w.hook!.stdout, /^meshlet wait: http:\/\/127\.0\.0\.1:15020\/ready ready after \d+ ms \(\d+ attempts?\)\n$/);
    assert.equal((await w.probe('web', 'readinessProbe')).status, 200);
  });

  test('SIGTERM to every container at once: inbound refused, the draining app still calls out, then the agent exits 0', async () => {
    w.agent.child.kill('SIGTERM');
    w.appProcess.child.kill('SIGTERM');
    let ready: HttpResult = { status: 200 };
    for (let i = 0; i < 40 && ready.status === 200; i++) ready = await w.kubelet('/ready', 15020);
    assert.equal(ready.status, 503, 'the agent reports not ready once it drains');
    const inbound = await w.get(w.client, `http://${APP_IP}:8080/`);
    assert.equal(inbound.error, 'ECONNREFUSED', `a new inbound connection is refused: ${JSON.stringify(inbound)}`);
    const line = await w.appProcess.waitForLine(/calledOut/, 15_000);
    assert.deepEqual(JSON.parse(line), { calledOut: 200 }, 'the app\'s call during its drain went through the agent');
    const exited = w.agent.running ? new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the agent did not exit: ${w.agent.stderr}`)), 30_000);
      w.agent.child.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    }) : Promise.resolve();
    await exited;
    assert.equal(w.agent.child.exitCode, 0, w.agent.stderr);
    assert.match(w.agent.stderr, /SIGTERM: draining[\s\S]*drained/);
  });
});
