// e2e: identity, mutual TLS and authorization between injected pods in network namespaces.
// Every meshed pod goes through inject() and is started the way the kubelet would start it
// (meshlet-init's iptables, then the proxy with the env the injector rendered, as uid 1337), with
// the agent in file mode over one directory that holds the mesh CA (Secret
// meshlet-system/meshlet-ca), the Services, the injected Pods and an AuthorizationPolicy.
// Pods: `reviews` (STRICT by annotation; HTTP echo on 8080, a server-first TCP app on 9000; a
// policy admits only ServiceAccount `allowed`), `ratings` (PERMISSIVE, no policy), `details`
// (PERMISSIVE, default inbound policy `authenticated` by annotation), two meshed clients
// (ServiceAccounts `allowed` and `denied`) and a plain pod without a sidecar.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTAINER_NAMES } from '../../api/pod-env.ts';
import { generateRoot } from '../../controller/identity/index.ts';
import { inject, resolveMeshConfig, type Container, type Pod as PodObject } from '../../injector/inject/index.ts';
import { NetnsLab, type LabProcess, type Pod } from '../support/netns.ts';
import { meshlet, NODE } from './cli.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const NS = 'shop';
const TD = 'cluster.local';
const id = (sa: string): string => `spiffe://${TD}/ns/${NS}/sa/${sa}`;
const REVIEWS = { ip: '10.244.0.10', clusterIp: '10.96.0.10' };
const RATINGS = { ip: '10.244.0.11', clusterIp: '10.96.0.11' };
const DETAILS = { ip: '10.244.0.12', clusterIp: '10.96.0.12' };

/** A pod as a user would write it; the injector adds the rest. */
function podSpec(name: string, sa: string, annotations: Record<string, string>, app: string | null): PodObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: app ?? name }, annotations: { 'meshlet.dev/opaque-ports': '9000', ...annotations } },
    spec: {
      serviceAccountName: sa,
      containers: [{
        name: 'app',
        image: 'example/app:1',
        ports: app ? [{ name: 'http', containerPort: 8080 }, { name: 'tcp', containerPort: 9000 }] : [],
        ...(app ? { readinessProbe: { httpGet: { path: '/healthz', port: 'http' } } } : {}),
      }],
    },
  };
}

const service = (name: string, ip: { clusterIp: string; ip: string }): string => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${NS}}
spec:
  clusterIP: ${ip.clusterIp}
  selector: {app: ${name}}
  ports:
  - {name: http, port: 80, targetPort: 8080, protocol: TCP, appProtocol: http}
  - {name: tcp, port: 9000, targetPort: 9000, protocol: TCP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-abcde, namespace: ${NS}, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}, {name: tcp, port: 9000, protocol: TCP}]
endpoints:
- {addresses: [${ip.ip}], conditions: {ready: true}, targetRef: {kind: Pod, name: ${name}-0, namespace: ${NS}}}
`;

const POLICY = `apiVersion: policy.meshlet.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: reviews-callers, namespace: ${NS}}
spec:
  targetRefs:
  - {group: "", kind: Service, name: reviews}
  action: ALLOW
  rules:
  - sources:
    - {type: ServiceAccount, serviceAccount: {name: allowed}}
`;

function caSecret(): string {
  const ca = generateRoot({ now: new Date(), trustDomain: TD });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return `apiVersion: v1
kind: Secret
metadata: {name: meshlet-ca, namespace: meshlet-system}
type: kubernetes.io/tls
data: {ca.crt: ${b64(ca.caPem)}, tls.crt: ${b64(ca.certPem)}, tls.key: ${b64(ca.keyPem)}}
`;
}

function byName(list: Container[] | undefined, name: string): Container {
  const c = list?.find((x) => x.name === name);
  assert.ok(c, `no container ${name}`);
  return c;
}

/** `env -i NAME=value ...` for a container, with the downward-API values of this lab. */
function containerEnv(pod: PodObject, c: Container, podIp: string): string[] {
  const values: Record<string, string> = {
    'metadata.name': pod.metadata?.name ?? '',
    'metadata.namespace': NS,
    'status.podIP': podIp,
    'spec.serviceAccountName': pod.spec.serviceAccountName as string,
    'spec.nodeName': 'lab-node',
  };
  const out = [`PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`];
  for (const e of c.env ?? []) {
    const ref = (e.valueFrom as { fieldRef?: { fieldPath: string } } | undefined)?.fieldRef;
    out.push(`${e.name}=${ref ? values[ref.fieldPath] ?? '' : e.value ?? ''}`);
  }
  return ['env', '-i', ...out];
}

interface HttpResult {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  error?: string;
}

interface TcpResult {
  ok: boolean;
  error?: string;
  lines?: { server: string }[];
}

/** What the echo app saw: its request headers (Go-canonical names) and which pod it is. */
function echoed(r: HttpResult): { pod: string; xfcc: string[] | undefined } {
  assert.equal(r.status, 200, JSON.stringify(r));
  const body = JSON.parse(r.body!) as { pod: string; headers: Record<string, string[]> };
  const key = Object.keys(body.headers).find((k) => k.toLowerCase() === 'x-forwarded-client-cert');
  return { pod: body.pod, xfcc: key === undefined ? undefined : body.headers[key] };
}

class MtlsWorld {
  lab!: NetnsLab;
  configDir = '';
  readonly pods = new Map<string, Pod>();
  readonly agents = new Map<string, LabProcess>();
  readonly apps = new Map<string, LabProcess>();
  readonly injected = new Map<string, PodObject>();

  async start(): Promise<void> {
    this.lab = await NetnsLab.create();
    this.configDir = mkdtempSync(join(tmpdir(), 'meshlet-e2e-mtls-'));
    chmodSync(this.configDir, 0o755); // the agents read it as uid 1337
    const meshed = [
      { pod: podSpec('reviews-0', 'reviews', { 'meshlet.dev/mtls-mode': 'STRICT' }, 'reviews'), ip: REVIEWS.ip },
      { pod: podSpec('ratings-0', 'ratings', {}, 'ratings'), ip: RATINGS.ip },
      { pod: podSpec('details-0', 'details', { 'meshlet.dev/default-inbound-policy': 'authenticated' }, 'details'), ip: DETAILS.ip },
      { pod: podSpec('allowed-0', 'allowed', {}, null), ip: '10.244.0.20' },
      { pod: podSpec('denied-0', 'denied', {}, null), ip: '10.244.0.21' },
    ];
    const manifests = [caSecret(), service('reviews', REVIEWS), service('ratings', RATINGS), service('details', DETAILS), POLICY];
    for (const m of meshed) {
      const result = inject(m.pod, { name: NS }, resolveMeshConfig());
      assert.equal(result.injected, true);
      this.injected.set(m.pod.metadata!.name!, result.pod);
      // The Pod as the API server would hold it: the injector's label marks it meshed.
      manifests.push(JSON.stringify({ ...result.pod, status: { podIP: m.ip } }));
    }
    writeFileSync(join(this.configDir, 'mesh.yaml'), manifests.join('\n---\n'), { mode: 0o644 });

    this.pods.set('plain', await this.lab.addPod('plain', { ipv4: '10.244.0.30' }));
    await Promise.all(meshed.map(async (m) => {
      const name = m.pod.metadata!.name!.replace(/-0$/, '');
      const pod = await this.lab.addPod(name, { ipv4: m.ip });
      this.pods.set(name, pod);
      if (m.pod.spec.containers[0]!.ports!.length > 0) {
        const echo = pod.spawn([NODE, fixture('echo.ts'), '--pod', `${name}-0`, '--namespace', NS, '--port', '8080']);
        const tcp = pod.spawn([NODE, fixture('tcp-server.ts'), '--name', name, '--port', '9000']);
        await Promise.all([echo.waitForLine(/"ready":true/, 30_000), tcp.waitForLine(/"ready":true/, 30_000)]);
        this.apps.set(name, echo);
      }
      await this.startSidecar(name, pod, this.injected.get(m.pod.metadata!.name!)!, m.ip);
    }));
  }

  /** meshlet-init, then the proxy as uid 1337 with its rendered env, until its startupProbe passes. */
  async startSidecar(name: string, pod: Pod, injected: PodObject, ip: string): Promise<void> {
    const spec = injected.spec;
    const init = byName(spec.initContainers, CONTAINER_NAMES.init);
    await pod.exec([...containerEnv(injected, init, ip), ...meshlet(...(init.args as string[]))], { timeoutMs: 30_000 });
    const proxy = byName(spec.initContainers, CONTAINER_NAMES.proxy);
    const sc = proxy.securityContext as { runAsUser: number; runAsGroup: number };
    // No controller in this lab: the agent's file mode reads the same tables (and the CA) from the directory.
    const agent = pod.spawn([...containerEnv(injected, proxy, ip), 'setpriv', `--reuid=${sc.runAsUser}`, `--regid=${sc.runAsGroup}`, '--clear-groups', ...meshlet('agent', '--config', this.configDir)]);
    this.agents.set(name, agent);
    const startup = (proxy.startupProbe as { httpGet: { path: string; port: number } }).httpGet;
    let last: HttpResult = {};
    for (let i = 0; i < 120 && last.status !== 200; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 250));
      last = await this.kubelet(`http://${ip}:${startup.port}${startup.path}`);
    }
    if (last.status !== 200) throw new Error(`the ${name} proxy never started: ${JSON.stringify(last)}\n${agent.stderr}`);
  }

  /** An HTTP GET from the node, as the kubelet makes it. */
  async kubelet(url: string): Promise<HttpResult> {
    return JSON.parse((await this.lab.nodeExec([NODE, fixture('http-client.ts'), '--url', url, '--header', 'User-Agent: kube-probe/1.31'])).stdout) as HttpResult;
  }

  /** A GET from the app in pod `from` (as root, so intercepted when the pod is meshed). */
  async get(from: string, url: string, headers: string[] = []): Promise<HttpResult> {
    const args = [NODE, fixture('http-client.ts'), '--url', url, ...headers.flatMap((h) => ['--header', h])];
    return JSON.parse((await this.pods.get(from)!.exec(args)).stdout) as HttpResult;
  }

  async tcp(from: string, host: string, port: number): Promise<TcpResult> {
    return JSON.parse((await this.pods.get(from)!.exec([NODE, fixture('tcp-client.ts'), '--host', host, '--port', String(port)])).stdout) as TcpResult;
  }

  diagnostics(): string {
    return [...this.agents].map(([who, a]) => `--- agent of ${who}:\n${a.stderr.split('\n').slice(-15).join('\n')}`).join('\n');
  }

  async destroy(): Promise<void> {
    await this.lab?.destroy();
    if (this.configDir) rmSync(this.configDir, { recursive: true, force: true });
  }
}

describe('mTLS, identities and authorization between injected pods', { timeout: 240_000 }, () => {
  const w = new MtlsWorld();
  before(() => w.start());
  after(() => w.destroy());

  test('the app sees the caller\'s SPIFFE ID in x-forwarded-client-cert, and a forged one is replaced', async () => {
    const r = await w.get('allowed', `http://${REVIEWS.clusterIp}/`, [`X-Forwarded-Client-Cert: By=${id('reviews')};URI=${id('admin')}`]);
    const seen = echoed(r);
    assert.equal(seen.pod, 'reviews-0', w.diagnostics());
    assert.deepEqual(seen.xfcc, [`By=${id('reviews')};URI=${id('allowed')}`]);
    // A PERMISSIVE workload without policy: the meshed caller is named too.
    const ratings = echoed(await w.get('denied', `http://${RATINGS.clusterIp}/`));
    assert.deepEqual(ratings.xfcc, [`By=${id('ratings')};URI=${id('denied')}`]);
  });

  test('PERMISSIVE accepts the plain pod\'s request, and its forged x-forwarded-client-cert is dropped', async () => {
    const seen = echoed(await w.get('plain', `http://${RATINGS.ip}:8080/`, [`X-Forwarded-Client-Cert: By=${id('ratings')};URI=${id('allowed')}`]));
    assert.equal(seen.pod, 'ratings-0');
    assert.equal(seen.xfcc, undefined, 'a plaintext caller is named by nobody');
    const tcp = await w.tcp('plain', RATINGS.ip, 9000);
    assert.deepEqual(tcp.lines?.map((l) => l.server), ['ratings'], JSON.stringify(tcp));
  });

  test('STRICT refuses the plain pod: HTTP 403 with the reason (the app never sees it), TCP closed', async () => {
    const before = w.apps.get('reviews')!.stdout;
    const r = await w.get('plain', `http://${REVIEWS.ip}:8080/`, ['X-E2e-Id: plain-strict']);
    assert.equal(r.status, 403, JSON.stringify(r));
    assert.match(r.headers?.['x-meshlet-denied-reason'] ?? '', /^STRICT mTLS: plaintext is refused/, JSON.stringify(r.headers));
    assert.equal(w.apps.get('reviews')!.stdout, before, 'the app saw nothing of it');
    const tcp = await w.tcp('plain', REVIEWS.ip, 9000);
    assert.notDeepEqual(tcp.lines?.map((l) => l.server), ['reviews'], JSON.stringify(tcp));
    assert.ok(tcp.error === 'ECONNRESET' || (tcp.ok && tcp.lines?.length === 0), `closed without a byte from the app: ${JSON.stringify(tcp)}`);
  });

  test('STRICT keeps kubelet probes working: the rewritten readiness probe answers on the admin port', async () => {
    const ready = byName(w.injected.get('reviews-0')!.spec.containers, 'app').readinessProbe as { httpGet: { path: string; port: number } };
    assert.equal(ready.httpGet.port, 15020, 'the injector moved the probe to the admin port');
    const probe = await w.kubelet(`http://${REVIEWS.ip}:${ready.httpGet.port}${ready.httpGet.path}`);
    assert.equal(probe.status, 200, JSON.stringify(probe));
    assert.match(probe.body ?? '', /^ok: GET http:\/\/10\.244\.0\.10:8080\/healthz: HTTP 200/);
    // The probe as written (plaintext from the node to the app's port) is what STRICT refuses.
    assert.equal((await w.kubelet(`http://${REVIEWS.ip}:8080/healthz`)).status, 403);
  });

  test('the policy lets ServiceAccount allowed through and gives denied a 403 with the reason', async () => {
    const ok = echoed(await w.get('allowed', `http://${REVIEWS.clusterIp}/`, ['X-E2e-Id: allowed-http']));
    assert.equal(ok.pod, 'reviews-0');
    await w.apps.get('reviews')!.waitForLine(/"seen":"allowed-http"/, 5_000); // the app logs what it sees
    const before = w.apps.get('reviews')!.stdout;
    const denied = await w.get('denied', `http://${REVIEWS.clusterIp}/`, ['X-E2e-Id: denied-http']);
    assert.equal(denied.status, 403, JSON.stringify(denied));
    const reason = denied.headers?.['x-meshlet-denied-reason'] ?? '';
    assert.match(reason, /reviews-callers/, `names the policy: ${reason}`);
    assert.ok(reason.includes(id('denied')), `names the caller: ${reason}`);
    assert.equal(w.apps.get('reviews')!.stdout, before, 'the app saw nothing of it');
  });

  test('opaque TCP: the allowed identity reaches the app, the denied one\'s connection is closed', async () => {
    const ok = await w.tcp('allowed', REVIEWS.clusterIp, 9000);
    assert.deepEqual(ok.lines?.map((l) => l.server), ['reviews'], `${JSON.stringify(ok)}\n${w.diagnostics()}`);
    const denials = async (): Promise<number> => {
      const m = await w.kubelet(`http://${REVIEWS.ip}:15020/metrics`);
      return Number(/^meshlet_inbound_authorization_total\{decision="deny"\} (\d+)$/m.exec(m.body ?? '')?.[1] ?? NaN);
    };
    const deniedBefore = await denials();
    const denied = await w.tcp('denied', REVIEWS.clusterIp, 9000);
    assert.ok(denied.error === 'ECONNRESET' || (denied.ok && denied.lines?.length === 0), `closed without a byte from the app: ${JSON.stringify(denied)}`);
    assert.equal(await denials(), deniedBefore + 1, 'the denial is counted on /metrics');
  });

  test('default inbound policy authenticated (annotation): any mesh identity passes, the plain pod gets 403', async () => {
    const seen = echoed(await w.get('denied', `http://${DETAILS.clusterIp}/`));
    assert.deepEqual(seen.xfcc, [`By=${id('details')};URI=${id('denied')}`]);
    const plain = await w.get('plain', `http://${DETAILS.ip}:8080/`);
    assert.equal(plain.status, 403, JSON.stringify(plain));
    assert.match(plain.headers?.['x-meshlet-denied-reason'] ?? '', /authenticated/, JSON.stringify(plain.headers));
    const tcp = await w.tcp('plain', DETAILS.ip, 9000);
    assert.ok(tcp.error === 'ECONNRESET' || (tcp.ok && tcp.lines?.length === 0), `closed without a byte from the app: ${JSON.stringify(tcp)}`);
  });
});
