import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { inject, resolveMeshConfig, defaultMeshConfig, type Pod, type Container } from './index.ts';
import { parseQuantity } from './quantity.ts';
import { isCidr } from './cidr.ts';

const mesh = defaultMeshConfig();
const pod = (extra: { labels?: Record<string, string>; annotations?: Record<string, string>; containers?: Container[] } = {}): Pod => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'p', namespace: 'shop', ...(extra.labels ? { labels: extra.labels } : {}), ...(extra.annotations ? { annotations: extra.annotations } : {}) },
  spec: { containers: extra.containers ?? [{ name: 'app', image: 'x' }] },
});
const names = (cs: Container[] | undefined): string[] => (cs ?? []).map((c) => c.name);

describe('quantities and CIDRs', () => {
  for (const [text, value] of [['100m', 0.1], ['2', 2], ['1.5', 1.5], ['128Mi', 128 * 2 ** 20], ['1G', 1e9], ['1e3', 1000], ['.5', 0.5]] as const) {
    test(`${text} = ${value}`, () => assert.equal(parseQuantity(text), value));
  }
  for (const bad of ['', 'm', '1mi', '-1', '1 Gi', '0x10']) test(`'${bad}' is not a quantity`, () => assert.equal(parseQuantity(bad), null));
  for (const [cidr, ok] of [['10.0.0.0/8', true], ['1.2.3.4', true], ['fd00::/8', true], ['::1', true], ['::ffff:10.0.0.1/128', true], ['2001:db8:0:0:0:0:0:1', true],
    ['10.0.0.0/33', false], ['256.0.0.1', false], ['fd00::/129', false], ['1:2:3:4:5:6:7:8:9', false], ['example.com', false], ['10.0.0.0/8/1', false], ['1::2::3', false],
    // node:net (the agent, `meshlet init`) refuses leading zeros: refused here too, not at the pod's start
    ['010.0.0.0/8', false], ['10.0.0.01', false], ['::ffff:10.0.0.01', false], ['0.0.0.0/0', true]] as const) {
    test(`${cidr} ${ok ? 'is' : 'is not'} a CIDR`, () => assert.equal(isCidr(cidr), ok));
  }
});

describe('mesh config', () => {
  test('an empty override is the defaults; overrides are checked', () => {
    assert.deepEqual(resolveMeshConfig({}), mesh);
    assert.deepEqual(resolveMeshConfig(null), mesh);
    assert.equal(resolveMeshConfig({ proxyResources: { limits: { memory: '2Gi' } } }).proxyResources.limits.memory, '2Gi');
    for (const [over, re] of [
      [{ sidecarMode: 'both' }, /sidecarMode must be one of native\|legacy/],
      [{ tokenExpirationSeconds: 60 }, /at least 600/],
      [{ proxyResources: { requests: { cpu: '4' } } }, /cpu request exceeds its limit/],
      [{ proxyResources: { requests: { gpu: '1' } } }, /unknown resource 'gpu'/],
      [{ image: '' }, /image must be a non-empty string/],
      [{ imag: 'x' }, /unknown key 'imag'/],
      [{ defaultRequestTimeoutSeconds: -1 }, /defaultRequestTimeoutSeconds must be a number of seconds/],
      [{ defaultRequestTimeoutSeconds: '15s' }, /defaultRequestTimeoutSeconds must be a number of seconds/],
      [{ streamIdleTimeoutSeconds: -5 }, /streamIdleTimeoutSeconds must be a number of seconds, 0 for no stream idle timeout/],
      [{ streamIdleTimeoutSeconds: '5m' }, /streamIdleTimeoutSeconds must be a number of seconds/],
      [{ streamIdleTimeoutSeconds: null }, /streamIdleTimeoutSeconds must be a number of seconds/],
      [{ otlpEndpoint: 'otel-collector:4318' }, /otlpEndpoint must be an http\(s\) URL/],
      [{ otlpEndpoint: 'grpc://otel:4317' }, /otlpEndpoint must be an http\(s\) URL/],
      [{ traceSampling: 1.5 }, /traceSampling must be a ratio in \[0, 1\]/],
      [{ traceSampling: '0.1' }, /traceSampling must be a ratio in \[0, 1\]/],
      [{ clusterNetworks: ['10.0.0.0/33'] }, /clusterNetworks: '10\.0\.0\.0\/33' is not a CIDR/],
      [{ clusterNetworks: '10.0.0.0/8,fd00::/129' }, /clusterNetworks: 'fd00::\/129' is not a CIDR/],
      [{ clusterNetworks: ['cluster.local'] }, /'cluster\.local' is not a CIDR/],
      [{ clusterNetworks: [] }, /clusterNetworks must list at least one CIDR/],
      [{ clusterNetworks: '' }, /clusterNetworks must list at least one CIDR/],
      [{ clusterNetworks: [10] }, /clusterNetworks must be a list of CIDRs/],
      [{ clusterNetworks: null }, /clusterNetworks must be a list of CIDRs/],
      [[], /must be a mapping/],
    ] as const) {
      assert.throws(() => resolveMeshConfig(over), (e: Error & { code?: string }) => e.code === 'E_MESH_CONFIG_INVALID' && re.test(e.message), JSON.stringify(over));
    }
  });
});

describe('selection', () => {
  const cases: [string, Pod, { name: string; labels?: Record<string, string> }, boolean, RegExp | null][] = [
    ['labelled namespace', pod(), { name: 'shop', labels: { 'meshlet.dev/inject': 'enabled' } }, true, null],
    ['namespace labels unknown (CLI)', pod(), { name: 'shop' }, true, null],
    ['namespace not labelled', pod(), { name: 'shop', labels: { team: 'a' } }, false, /not labelled meshlet.dev\/inject=enabled/],
    ["meshlet's own namespace", pod(), { name: 'meshlet-system' }, false, /namespace meshlet-system is never injected/],
    ['kube-node-lease', pod(), { name: 'kube-node-lease' }, false, /never injected/],
    ['the pod label opts in over an annotation opt-out', pod({ labels: { 'meshlet.dev/inject': 'true' }, annotations: { 'meshlet.dev/inject': 'false' } }), { name: 'shop' }, true, null],
    ['linkerd', pod({ containers: [{ name: 'app' }, { name: 'linkerd-proxy' }] }), { name: 'shop' }, false, /another mesh's container linkerd-proxy/],
  ];
  for (const [name, p, ns, injected, warning] of cases) {
    test(name, () => {
      const r = inject(p, ns, mesh);
      assert.equal(r.injected, injected);
      if (!injected) assert.deepEqual(r.patch, []);
      if (warning) assert.match(r.warnings.join('\n'), warning);
    });
  }
  test('ignoredNamespaces from the mesh config', () => {
    assert.equal(inject(pod(), { name: 'legacy-apps' }, resolveMeshConfig({ ignoredNamespaces: ['legacy-apps'] })).injected, false);
  });
});

describe('inject', () => {
  test('the mesh default request timeout reaches the proxy as MESHLET_DEFAULT_REQUEST_TIMEOUT when it is not the built-in 15 s', () => {
    const envOf = (m: typeof mesh): string | undefined => inject(pod(), { name: 'shop' }, m).pod.spec.initContainers![1]!.env!.find((e) => e.name === 'MESHLET_DEFAULT_REQUEST_TIMEOUT')?.value;
    assert.equal(envOf(resolveMeshConfig({ defaultRequestTimeoutSeconds: 0 })), '0');
    assert.equal(envOf(resolveMeshConfig({ defaultRequestTimeoutSeconds: 60 })), '60');
    assert.equal(envOf(mesh), undefined);
  });

  test('the mesh stream idle timeout reaches the proxy as MESHLET_STREAM_IDLE_TIMEOUT when it is not the built-in 300 s', () => {
    const envOf = (m: typeof mesh): string | undefined => inject(pod(), { name: 'shop' }, m).pod.spec.initContainers![1]!.env!.find((e) => e.name === 'MESHLET_STREAM_IDLE_TIMEOUT')?.value;
    assert.equal(envOf(resolveMeshConfig({ streamIdleTimeoutSeconds: 0 })), '0');
    assert.equal(envOf(resolveMeshConfig({ streamIdleTimeoutSeconds: 90.5 })), '90.5');
    assert.equal(envOf(resolveMeshConfig({ streamIdleTimeoutSeconds: 300 })), undefined);
    assert.equal(envOf(mesh), undefined);
  });

  test('the mesh cluster networks reach the proxy as MESHLET_CLUSTER_NETWORKS when they are not the built-in private ranges', () => {
    const envOf = (m: typeof mesh): string | undefined => inject(pod(), { name: 'shop' }, m).pod.spec.initContainers![1]!.env!.find((e) => e.name === 'MESHLET_CLUSTER_NETWORKS')?.value;
    assert.deepEqual(mesh.clusterNetworks, ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8']);
    assert.equal(envOf(mesh), undefined);
    assert.equal(envOf(resolveMeshConfig({ clusterNetworks: ['10.0.0.0/8', '203.0.113.0/24', '2001:db8::/32'] })), '10.0.0.0/8,203.0.113.0/24,2001:db8::/32');
    assert.equal(envOf(resolveMeshConfig({ clusterNetworks: ' 10.0.0.0/8 , 198.51.100.7' })), '10.0.0.0/8,198.51.100.7', "Linkerd's comma-separated form");
    assert.equal(envOf(resolveMeshConfig({ clusterNetworks: ['0.0.0.0/0', '::/0'] })), '0.0.0.0/0,::/0');
  });

  test('the mesh OTLP endpoint and sampling reach every injected proxy as the standard OTel variables; none, no tracing', () => {
    const envOf = (m: typeof mesh): Record<string, string | undefined> => {
      const e = inject(pod(), { name: 'shop' }, m).pod.spec.initContainers![1]!.env!;
      return { endpoint: e.find((x) => x.name === 'OTEL_EXPORTER_OTLP_ENDPOINT')?.value, ratio: e.find((x) => x.name === 'OTEL_TRACES_SAMPLER_ARG')?.value };
    };
    assert.deepEqual(envOf(mesh), { endpoint: undefined, ratio: undefined });
    assert.deepEqual(envOf(resolveMeshConfig({ otlpEndpoint: 'http://jaeger.observability:4318', traceSampling: 1 })), { endpoint: 'http://jaeger.observability:4318', ratio: '1' });
    assert.deepEqual(envOf(resolveMeshConfig({ otlpEndpoint: 'https://otel.example:4318' })), { endpoint: 'https://otel.example:4318', ratio: undefined }, "the agent's own 0.01 needs no variable");
    assert.deepEqual(envOf(resolveMeshConfig({ otlpEndpoint: '', traceSampling: 1 })), { endpoint: undefined, ratio: undefined });
  });

  test('a namespace\'s mtls-mode and default-inbound-policy annotations are its pods\' defaults; the pod\'s own win; a bad namespace value warns and keeps the mesh default', () => {
    const env = (p: Pod, ns: { name: string; annotations?: Record<string, string> }) => {
      const r = inject(p, ns, mesh);
      const e = r.pod.spec.initContainers![1]!.env!;
      return { mode: e.find((x) => x.name === 'MESHLET_MTLS_MODE')?.value, policy: e.find((x) => x.name === 'MESHLET_DEFAULT_INBOUND_POLICY')?.value, warnings: r.warnings };
    };
    const strictNs = { name: 'shop', annotations: { 'meshlet.dev/mtls-mode': 'STRICT', 'meshlet.dev/default-inbound-policy': 'authenticated' } };
    assert.deepEqual(env(pod(), strictNs), { mode: 'STRICT', policy: 'authenticated', warnings: [] });
    assert.deepEqual(env(pod({ annotations: { 'meshlet.dev/mtls-mode': 'PERMISSIVE', 'meshlet.dev/default-inbound-policy': 'deny' } }), strictNs), { mode: 'PERMISSIVE', policy: 'deny', warnings: [] });
    const plain = env(pod(), { name: 'shop' });
    assert.deepEqual([plain.mode, plain.policy], [mesh.mtlsMode, mesh.defaultInboundPolicy]);
    const typo = env(pod(), { name: 'shop', annotations: { 'meshlet.dev/mtls-mode': 'strict' } });
    assert.equal(typo.mode, plain.mode, 'the mesh default stays');
    assert.equal(typo.warnings.length, 1);
    assert.match(typo.warnings[0]!, /^namespace shop: .*meshlet\.dev\/mtls-mode.*the mesh default is used$/);
    assert.equal(env(pod(), { name: 'shop', annotations: { 'meshlet.dev/access-log': 'json', 'other.io/x': 'y' } }).warnings.length, 0, 'other namespace annotations are not ours to judge');
  });

  test('a pod with our containers but no status (annotation deleted) is re-rendered with one proxy', () => {
    const injected = inject(pod(), { name: 'shop' }, mesh).pod;
    delete injected.metadata!.annotations;
    const again = inject(injected, { name: 'shop' }, mesh).pod;
    assert.deepEqual(names(again.spec.initContainers), ['meshlet-init', 'meshlet-proxy']);
    assert.deepEqual(names(again.spec.containers), ['app']);
    assert.equal(again.spec.volumes?.length, 2);
  });

  test('reinvocation after another webhook added a container: one proxy, the new probe rewritten too', () => {
    const first = inject(pod({ containers: [{ name: 'app', readinessProbe: { httpGet: { path: '/r', port: 8080 } } }] }), { name: 'shop' }, mesh).pod;
    // What the API server hands back on reinvocation: defaults filled in, another webhook's container.
    for (const c of [...first.spec.initContainers!, ...first.spec.containers]) Object.assign(c, { imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' });
    first.spec.containers.push({ name: 'logger', image: 'l', livenessProbe: { tcpSocket: { port: 24224 } } });
    const again = inject(first, { name: 'shop' }, mesh).pod;
    assert.deepEqual(names(again.spec.initContainers), ['meshlet-init', 'meshlet-proxy']);
    assert.deepEqual(names(again.spec.containers), ['app', 'logger']);
    assert.deepEqual(again.spec.containers[1]!.livenessProbe, { httpGet: { path: '/app-health/logger/livez', port: 15020, scheme: 'HTTP' } });
    const env = again.spec.initContainers![1]!.env!.find((e) => e.name === 'MESHLET_APP_PROBERS')!;
    assert.deepEqual(JSON.parse(env.value!), {
      '/app-health/app/readyz': { httpGet: { path: '/r', port: 8080 } },
      '/app-health/logger/livez': { tcpSocket: { port: 24224 } },
    });
    assert.equal(again.spec.containers[0]!.imagePullPolicy, 'IfNotPresent', "the user's container keeps what the API server set");
  });

  test('a user volume named like ours is refused by name rather than duplicated', () => {
    const p = pod();
    p.spec.volumes = [{ name: 'meshlet-root-ca', configMap: { name: 'meshlet-root-ca' } }];
    assert.throws(() => inject(p, { name: 'shop' }, mesh), /the name meshlet-root-ca is reserved/);
  });

  test('a memory request above the default limit raises the limit; REQUEST,LIMIT sets both', () => {
    const proxy = (a: Record<string, string>): Container => inject(pod({ annotations: a }), { name: 'shop' }, mesh).pod.spec.initContainers![1]!;
    assert.deepEqual(proxy({ 'meshlet.dev/proxy-memory': '2Gi' }).resources, { requests: { cpu: '100m', memory: '2Gi' }, limits: { cpu: '2', memory: '2Gi' } });
    assert.deepEqual(proxy({ 'meshlet.dev/proxy-cpu': '250m,500m' }).resources, { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '500m', memory: '1Gi' } });
  });

  test('a proxy memory limit below 1 GiB pins V8\'s young generation at 2 MB (NODE_OPTIONS); the default and larger limits do not', () => {
    const nodeOptions = (a: Record<string, string>): string | undefined => inject(pod({ annotations: a }), { name: 'shop' }, mesh).pod.spec.initContainers![1]!.env!
      .find((e) => e.name === 'NODE_OPTIONS')?.value;
    for (const [annotations, want] of [
      [{}, undefined],
      [{ 'meshlet.dev/proxy-memory': '2Gi' }, undefined],
      [{ 'meshlet.dev/proxy-memory': '128Mi,1024Mi' }, undefined],
      [{ 'meshlet.dev/proxy-memory': '256Mi' }, undefined], // a request alone: the limit stays 1Gi
      [{ 'meshlet.dev/proxy-memory': '128Mi,256Mi' }, '--max-semi-space-size=2'],
      [{ 'meshlet.dev/proxy-memory': '128Mi,512Mi' }, '--max-semi-space-size=2'],
      [{ 'meshlet.dev/proxy-memory': '128Mi,1023Mi' }, '--max-semi-space-size=2'],
    ] as const) {
      assert.equal(nodeOptions(annotations), want, JSON.stringify(annotations));
    }
  });

  test('a probe on a named port the container does not declare is left alone, with a warning', () => {
    const r = inject(pod({ containers: [{ name: 'app', readinessProbe: { httpGet: { path: '/', port: 'web' } } }] }), { name: 'shop' }, mesh);
    assert.deepEqual(r.pod.spec.containers[0]!.readinessProbe, { httpGet: { path: '/', port: 'web' } });
    assert.match(r.warnings.join('\n'), /container app: readinessProbe left as is: port 'web' is not a port of the container/);
  });

  test('inputs that are not pods are refused with E_INJECT_POD_INVALID', () => {
    for (const [input, re] of [
      [null, /expected an object/],
      [{ spec: { containers: [] } }, /at least one container/],
      [{ spec: { containers: [{ image: 'x' }] } }, /list of objects with a name/],
      [{ metadata: { labels: { a: 1 } }, spec: { containers: [{ name: 'a' }] } }, /metadata.labels must map strings to strings/],
    ] as const) {
      assert.throws(() => inject(input, { name: 'shop' }, mesh), (e: Error & { code?: string }) => e.code === 'E_INJECT_POD_INVALID' && re.test(e.message));
    }
  });

  test('an invalid annotation throws E_INJECT_ANNOTATION naming it, even on an injected pod', () => {
    const injected = inject(pod(), { name: 'shop' }, mesh).pod;
    injected.metadata!.annotations!['meshlet.dev/log-level'] = 'verbose';
    assert.throws(() => inject(injected, { name: 'shop' }, mesh), (e: Error & { code?: string; annotation?: string }) => e.code === 'E_INJECT_ANNOTATION' && e.annotation === 'meshlet.dev/log-level');
  });
});
