// e2e: the real sidecar behind real interception. Pod "client" runs `meshlet init` and
// `meshlet agent` (file mode, uid 1337); pods echo-v1 and echo-v2 run the conformance echo server. A
// Service-parented HTTPRoute on echo (ClusterIP 10.96.0.20:80) sends `x-version: v2` to echo-v2
// and everything else to echo-v1. The app in "client" just opens http://10.96.0.20/.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsLab, type Pod } from '../support/netns.ts';
import { agentArgs, idsOf, meshlet } from './cli.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const NODE = process.execPath;
const ECHO_IP = '10.96.0.20';

function service(name: string, clusterIP: string, podIps: string[], podNames: string[]): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
  clusterIP: ${clusterIP}
  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP, appProtocol: http}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-abcde, namespace: default, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
${podIps.map((ip, i) => `- {addresses: [${ip}], conditions: {ready: true, serving: true, terminating: false}, targetRef: {kind: Pod, name: ${podNames[i]}, namespace: default}}`).join('\n')}
`;
}

const ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo-split, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, port: 80}]
  rules:
  - matches: [{headers: [{name: x-version, value: v2}]}]
    backendRefs: [{name: echo-v2, port: 80}]
  - backendRefs: [{name: echo-v1, port: 80}]
`;

interface HttpResult {
  status?: number;
  body?: string;
  error?: string;
}

describe('real sidecar behind meshlet init (file mode, uid 1337)', { timeout: 120_000 }, () => {
  let lab: NetnsLab;
  let client: Pod;
  let v1: Pod;
  let v2: Pod;
  let configDir: string;
  let agentPid = 0;

  async function get(url: string, headers: string[] = [], uid?: number): Promise<HttpResult> {
    const args = [NODE, fixture('http-client.ts'), '--url', url, ...headers.flatMap((h) => ['--header', h])];
    if (uid !== undefined) args.push('--uid', String(uid));
    return JSON.parse((await client.exec(args, { timeoutMs: 15_000 })).stdout.trim()) as HttpResult;
  }
  const podOf = (r: HttpResult): string => {
    assert.equal(r.status, 200, JSON.stringify(r));
    return (JSON.parse(r.body ?? '{}') as { pod?: string }).pod ?? '';
  };

  before(async () => {
    lab = await NetnsLab.create();
    client = await lab.addPod('client', { ipv4: '10.244.0.40', ipv6: 'fd00:244::40' });
    v1 = await lab.addPod('v1', { ipv4: '10.244.0.41', ipv6: 'fd00:244::41' });
    v2 = await lab.addPod('v2', { ipv4: '10.244.0.42', ipv6: 'fd00:244::42' });
    configDir = mkdtempSync(join(tmpdir(), 'meshlet-e2e-'));
    chmodSync(configDir, 0o755); // the agent reads it as uid 1337
    writeFileSync(join(configDir, 'echo.yaml'), [
      ROUTE,
      service('echo', ECHO_IP, [v1.ipv4, v2.ipv4], ['echo-v1', 'echo-v2']),
      service('echo-v1', '10.96.0.21', [v1.ipv4], ['echo-v1']),
      service('echo-v2', '10.96.0.22', [v2.ipv4], ['echo-v2']),
    ].join('---\n'));
    const echoes = [
      v1.spawn([NODE, fixture('echo.ts'), '--pod', 'echo-v1']),
      v2.spawn([NODE, fixture('echo.ts'), '--pod', 'echo-v2']),
    ];
    await Promise.all(echoes.map((e) => e.waitForLine(/"ready":true/)));
    await client.exec(meshlet('init', '--ipv6', 'on'), { timeoutMs: 30_000 });
    const agent = client.spawn(agentArgs(configDir, 'default'));
    await agent.waitForLine(/listening on/, 30_000);
    agentPid = agent.child.pid!;
  });

  after(async () => {
    await lab?.destroy();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  test('the agent runs as uid 1337', () => {
    assert.deepEqual(idsOf(agentPid), { uid: 1337, gid: 1337 });
  });

  test('a plain request to the ClusterIP follows the route (default rule → echo-v1)', async () => {
    assert.equal(podOf(await get(`http://${ECHO_IP}/`)), 'echo-v1');
  });

  test('a header match sends the request to echo-v2', async () => {
    assert.equal(podOf(await get(`http://${ECHO_IP}/`, ['x-version: v2'])), 'echo-v2');
  });

  test('routing keys on the ClusterIP, not on Host (MeshClusterIPMatching)', async () => {
    assert.equal(podOf(await get(`http://${ECHO_IP}/`, ['host: echo-v2.default.svc.cluster.local', 'x-version: v2'])), 'echo-v2');
    assert.equal(podOf(await get(`http://${ECHO_IP}/`, ['host: echo-v2.default.svc.cluster.local'])), 'echo-v1');
  });

  test('a request to a pod IP is not routed by Service routes (MeshFrontend)', async () => {
    assert.equal(podOf(await get(`http://${v1.ipv4}:8080/`, ['x-version: v2'])), 'echo-v1');
  });

  test('IPv6: a pod IP is intercepted by ip6tables and passed through by the agent', async () => {
    // Packet counters of the outbound REDIRECT prove the connection went through the agent.
    const redirected = async (): Promise<number> => {
      const save = (await client.exec(['ip6tables-save', '-c', '-t', 'nat'])).stdout;
      return Number(/^\[(\d+):\d+\] -A MESHLET_REDIRECT /m.exec(save)?.[1] ?? NaN);
    };
    const before = await redirected();
    assert.equal(podOf(await get(`http://[${v2.ipv6!}]:8080/`, ['x-version: v1'])), 'echo-v2');
    assert.equal(await redirected(), before + 1);
  });

  test('uid 1337 bypasses the agent: a ClusterIP nobody serves is then unreachable', async () => {
    const r = await get(`http://${ECHO_IP}/`, [], 1337);
    assert.ok(r.error !== undefined, `expected a connection error without the agent, got ${JSON.stringify(r)}`);
  });
});
