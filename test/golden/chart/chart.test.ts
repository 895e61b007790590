// The Helm chart, rendered by a real helm (built from its Go module by scripts/build-helm.sh):
// `<case>.in.yaml` names values files of charts/meshlet and inline values, `<case>.out.yaml`
// is `helm template`'s output (UPDATE_GOLDEN=1 rewrites it). Beside the goldens, the parts
// that must agree with the code are checked against it, so the chart cannot drift silently.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { defaultMeshConfig, resolveMeshConfig } from '../../../injector/inject/mesh-config.ts';
import { webhookConfiguration } from '../../../injector/webhook-config.ts';
import { SMALL_HEAP_NODE_OPTIONS } from '../../../injector/inject/render.ts';
import { COMMANDS } from '../../../cli/main.ts';
import { assertGolden, goldenCases, orphanOutputs } from '../../support/golden.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHART = join(ROOT, 'charts/meshlet');
const DIR = fileURLToPath(new URL('./', import.meta.url));
const GATEWAY_API = ['--api-versions', 'gateway.networking.k8s.io/v1'];
let helm = '';

before(async () => {
  const { stdout } = await run('bash', [join(ROOT, 'scripts/build-helm.sh')], { timeout: 900_000 });
  helm = stdout.trim().split('\n').at(-1) ?? '';
});

type Obj = Record<string, unknown>;

/** A value deep in rendered YAML, or undefined: the goldens hold the whole shape. */
function get(o: unknown, ...keys: (string | number)[]): unknown {
  let v = o;
  for (const k of keys) v = typeof v === 'object' && v !== null ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

async function template(args: string[]): Promise<string> {
  const { stdout } = await run(helm, ['template', 'meshlet', CHART, '--namespace', 'meshlet-system', ...args], { timeout: 60_000 });
  return stdout;
}

async function render(caseFile: string, extra: string[] = GATEWAY_API): Promise<string> {
  const spec = parse(await readFile(caseFile, 'utf8')) as { valuesFiles: string[]; values: Obj };
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-chart-'));
  try {
    const inline = join(dir, 'values.yaml');
    await writeFile(inline, JSON.stringify(spec.values));
    return await template([...spec.valuesFiles.flatMap((f) => ['-f', join(CHART, f)]), '-f', inline, ...extra]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const objects = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJS() as Obj).filter((o) => o !== null);
const find = (objs: Obj[], kind: string, name: string) => objs.find((o) => o.kind === kind && get(o, 'metadata', 'name') === name);

for (const c of goldenCases(DIR)) {
  test(`chart golden: ${c.name}`, async () => {
    assertGolden(c.outFile, await render(c.inFile));
  });
}

test('chart goldens: no output without its input', () => {
  assert.deepEqual(orphanOutputs(DIR), []);
});

test('without the Gateway API the chart refuses to render and says what to install', async () => {
  await assert.rejects(template([]), (err: Error & { stderr: string }) => {
    assert.match(err.stderr, /needs the Gateway API CRDs .*standard-install\.yaml/);
    return true;
  });
});

test('the chart ships no Gateway API CRD', async () => {
  const objs = objects(await template(GATEWAY_API));
  const crds = objs.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => get(o, 'spec', 'group') as string);
  assert.ok(!crds.some((g) => g.includes('gateway.networking')), `CRDs: ${crds.join(', ')}`);
});

test('the webhook is the one injector/webhook-config.ts describes, without a caBundle', async () => {
  for (const failurePolicy of ['Fail', 'Ignore'] as const) {
    const objs = objects(await template([...GATEWAY_API, '--set', `webhook.failurePolicy=${failurePolicy}`]));
    const chart = find(objs, 'MutatingWebhookConfiguration', 'meshlet-injector');
    const code = webhookConfiguration({ namespace: 'meshlet-system', failurePolicy });
    assert.deepEqual(chart?.webhooks, code.webhooks);
  }
});

test('the controller Service has the config, webhook and admin ports; readiness is /ready on 15020', async () => {
  const objs = objects(await template(GATEWAY_API));
  const svc = find(objs, 'Service', 'meshlet-controller');
  assert.deepEqual((get(svc, 'spec', 'ports') as Obj[]).map((p) => p.port), [15012, 15017, 15020]);
  const pod = get(find(objs, 'Deployment', 'meshlet-controller'), 'spec', 'template', 'spec');
  assert.deepEqual(get(pod, 'containers', 0, 'readinessProbe', 'httpGet'), { path: '/ready', port: 15020 });
  assert.equal(get(pod, 'securityContext', 'runAsNonRoot'), true);
});

test('a PodDisruptionBudget exists only with more than one replica', async () => {
  for (const [replicas, expected] of [[1, false], [2, true], [3, true]] as const) {
    const objs = objects(await template([...GATEWAY_API, '--set', `controller.replicas=${replicas}`]));
    assert.equal(find(objs, 'PodDisruptionBudget', 'meshlet-controller') !== undefined, expected, `replicas ${replicas}`);
  }
});

test('the CA Secret and the leader Lease are reachable only by name (besides create); other Leases only in meshlet\'s namespace', async () => {
  const role = find(objects(await template(GATEWAY_API)), 'Role', 'meshlet-controller');
  for (const rule of get(role, 'rules') as Obj[]) {
    const verbs = rule.verbs as string[];
    // The replicas' propagation records are named after their pods (ADR 0014): Leases, nothing else.
    const ackLeases = JSON.stringify(rule.resources) === '["leases"]' && JSON.stringify(verbs) === '["get","list","update","delete"]';
    if (!verbs.every((v) => v === 'create') && !ackLeases) assert.ok(Array.isArray(rule.resourceNames), `rule on ${JSON.stringify(rule.resources)} without resourceNames`);
  }
});

test('the mesh configuration the chart renders is one the controller accepts; defaults agree with the code', async () => {
  const cm = find(objects(await template(GATEWAY_API)), 'ConfigMap', 'meshlet-mesh-config');
  const rendered = resolveMeshConfig(parse(get(cm, 'data', 'mesh.yaml') as string));
  assert.deepEqual({ ...rendered, image: '', version: '' }, { ...defaultMeshConfig(), image: '', version: '' });
  assert.equal(rendered.image, 'meshlet/meshlet:0.1.0');
  const strict = find(objects(await template([...GATEWAY_API, '--set', 'mesh.mtlsMode=STRICT'])), 'ConfigMap', 'meshlet-mesh-config');
  assert.equal(resolveMeshConfig(parse(get(strict, 'data', 'mesh.yaml') as string)).mtlsMode, 'STRICT');
});

test('mesh.clusterNetworks reaches the mesh config and reads back as set; an empty list or a name is refused at install', async () => {
  const mesh = async (...sets: string[]) => resolveMeshConfig(parse(get(find(objects(await template([...GATEWAY_API, ...sets])), 'ConfigMap', 'meshlet-mesh-config'), 'data', 'mesh.yaml') as string));
  assert.deepEqual((await mesh('--set', 'mesh.clusterNetworks={10.0.0.0/8,203.0.113.0/24,2001:db8::/32}')).clusterNetworks, ['10.0.0.0/8', '203.0.113.0/24', '2001:db8::/32']);
  for (const set of [['--set-json', 'mesh.clusterNetworks=[]'], ['--set', 'mesh.clusterNetworks={cluster.local}']]) {
    await assert.rejects(template([...GATEWAY_API, ...set]), /values don't meet the specifications of the schema|schema/, set.join(' '));
  }
});

test('the init container has its own image (image.init: iptables is not in the distroless runtime), pinned by digest when given', async () => {
  const mesh = async (...sets: string[]) => resolveMeshConfig(parse(get(find(objects(await template([...GATEWAY_API, ...sets.flatMap((x) => ['--set', x])])), 'ConfigMap', 'meshlet-mesh-config'), 'data', 'mesh.yaml') as string));
  const plain = await mesh();
  assert.equal(plain.initImage, 'meshlet/meshlet-init:0.1.0');
  assert.equal(plain.image, 'meshlet/meshlet:0.1.0');
  const digest = `sha256:${'ab'.repeat(32)}`;
  const pinned = await mesh('image.init.repository=registry.example/meshlet-init', 'image.init.tag=9.9.9', `image.init.digest=${digest}`, 'image.tag=2.0.0');
  assert.equal(pinned.initImage, `registry.example/meshlet-init@${digest}`, 'a digest wins over the tag');
  assert.equal(pinned.image, 'meshlet/meshlet:2.0.0', 'the runtime image is set apart');
  for (const set of ['image.init.digest=latest', 'image.init.registry=x']) await assert.rejects(template([...GATEWAY_API, '--set', set]), /values don't meet the specifications of the schema|schema/, set);
});

test('the mesh timeouts reach the mesh config and the ingress flags, and both read back as set', async () => {
  const objs = objects(await render(join(DIR, 'request-timeouts.in.yaml')));
  const mesh = resolveMeshConfig(parse(get(find(objs, 'ConfigMap', 'meshlet-mesh-config'), 'data', 'mesh.yaml') as string));
  assert.equal(mesh.defaultRequestTimeoutSeconds, 0);
  assert.equal(mesh.streamIdleTimeoutSeconds, 90.5);
  const args = get(find(objs, 'Deployment', 'meshlet-ingress'), 'spec', 'template', 'spec', 'containers', 0, 'args') as string[];
  const { defaultRequestTimeoutFlag, streamIdleTimeoutFlag } = await import('../../../cli/flags.ts');
  const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
  assert.equal(defaultRequestTimeoutFlag(flag('--default-request-timeout'), undefined), 0);
  assert.equal(streamIdleTimeoutFlag(flag('--stream-idle-timeout'), undefined), 90_500);
});

test('every flag the chart passes is one its subcommand documents', async () => {
  const objs = objects(await template([...GATEWAY_API, '--set', 'tests.image=x', '--set', 'tracing.otlpEndpoint=http://collector:4318', '--set', 'mesh.accessLog=json']));
  const pods = objs.flatMap((o) => {
    const spec = o.kind === 'Pod' ? get(o, 'spec') : get(o, 'spec', 'template', 'spec');
    return (get(spec, 'containers') as Obj[] | undefined) ?? [];
  });
  const checked: string[] = [];
  for (const c of pods) {
    const [sub, ...args] = (c.args as string[] | undefined) ?? [];
    const entry = COMMANDS.find((e) => e.name === sub);
    assert.ok(entry, `container ${String(c.name)} runs unknown subcommand ${sub}`);
    const help = (await entry.load()).help;
    for (const flag of args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0] ?? a)) {
      assert.ok(help.includes(`${flag} `), `meshlet ${sub} --help does not document ${flag}`);
      checked.push(`${sub} ${flag}`);
    }
  }
  assert.ok(checked.length >= 12, checked.join(', '));
});

test('helm lint --strict passes', async () => {
  const { stdout } = await run(helm, ['lint', '--strict', CHART], { timeout: 60_000 });
  assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('a misspelt or out-of-range value is refused by values.schema.json', async () => {
  for (const [set, complaint] of [
    ['mesh.mtlsMod=STRICT', /additional properties 'mtlsMod' not allowed/],
    ['mesh.mtlsMode=strict', /mtlsMode/],
    ['webhook.failurePolicy=Never', /failurePolicy/],
    ['controller.replicas=0', /replicas/],
    ['image.digest=latest', /digest/],
    ['mesh.streamIdleTimeoutSeconds=-1', /streamIdleTimeoutSeconds': minimum: got -1, want 0/],
    ['mesh.defaultRequestTimeoutSeconds=15s', /defaultRequestTimeoutSeconds': got string, want number/],
  ] as const) {
    await assert.rejects(template([...GATEWAY_API, '--set', set]), (err: Error & { stderr: string }) => {
      assert.match(err.stderr, complaint, set);
      return true;
    });
  }
});

test('RBAC has no wildcard, no destructive verb but the stale propagation records\' delete, and writes only the status of Gateway API kinds', async () => {
  const objs = objects(await template(GATEWAY_API));
  for (const role of objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
    for (const rule of get(role, 'rules') as Obj[]) {
      for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames']) {
        assert.ok(!((rule[field] as string[] | undefined) ?? []).includes('*'), `${String(role.kind)} ${JSON.stringify(rule)}: wildcard ${field}`);
      }
      const verbs = rule.verbs as string[];
      const gatewayKinds = (rule.apiGroups as string[]).some((g) => g.startsWith('gateway.networking'));
      if (gatewayKinds && verbs.includes('update')) {
        assert.ok((rule.resources as string[]).every((r) => r.endsWith('/status')), `writes ${JSON.stringify(rule.resources)}`);
      }
    }
  }
  const text = await readFile(join(CHART, 'templates/controller-rbac.yaml'), 'utf8');
  assert.ok(!/verbs: \[[^\]]*\b(deletecollection|escalate|bind|impersonate)\b/.test(text), 'no destructive or escalating verb');
  // One delete: stale propagation records (Leases) in meshlet's own namespace (ADR 0014).
  const deletes = objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').flatMap((role) => (get(role, 'rules') as Obj[]).filter((r) => (r.verbs as string[]).includes('delete')).map((r) => [role.kind, r.resources]));
  assert.deepEqual(deletes, [['Role', ['leases']]]);
});

test('every container runs as non-root, without privilege escalation, with a read-only root and no capabilities', async () => {
  const objs = objects(await template([...GATEWAY_API, '-f', join(CHART, 'values-ha.yaml')]));
  const pods = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'Pod').map((o) => (o.kind === 'Pod' ? get(o, 'spec') : get(o, 'spec', 'template', 'spec')));
  assert.equal(pods.length, 4);
  for (const pod of pods) {
    assert.equal(get(pod, 'securityContext', 'runAsNonRoot'), true);
    for (const c of get(pod, 'containers') as Obj[]) {
      assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, String(c.name));
    }
  }
});

test('helm test: the readiness pod and the caBundle pod, whose identity may only get that one webhook configuration', async () => {
  const objs = objects(await template([...GATEWAY_API, '--set', 'webhook.name=mesh-injector']));
  const tests = objs.filter((o) => get(o, 'metadata', 'annotations', 'helm.sh/hook') === 'test');
  const pods = tests.filter((o) => o.kind === 'Pod');
  assert.deepEqual(pods.map((p) => get(p, 'spec', 'containers', 0, 'args')), [
    ['check', '--only', 'injection webhook caBundle', '--namespace', 'meshlet-system', '--webhook-name', 'mesh-injector'],
    ['wait', '--timeout', '60', '--url', 'http://meshlet-controller.meshlet-system.svc:15020/ready'],
  ]);
  const { POST_INSTALL_CHECKS } = await import('../../../cli/check/index.ts');
  assert.ok(POST_INSTALL_CHECKS.some((c) => c.name === 'injection webhook caBundle'), 'the check the pod names exists');
  const role = find(tests, 'ClusterRole', 'meshlet-test-ca-bundle');
  assert.deepEqual(get(role, 'rules'), [{ apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: ['mesh-injector'], verbs: ['get'] }]);
  const binding = find(tests, 'ClusterRoleBinding', 'meshlet-test-ca-bundle');
  assert.deepEqual(get(binding, 'subjects'), [{ kind: 'ServiceAccount', name: 'meshlet-test-ca-bundle', namespace: 'meshlet-system' }]);
  assert.equal(get(find(tests, 'Pod', 'meshlet-test-ca-bundle'), 'spec', 'serviceAccountName'), 'meshlet-test-ca-bundle');
  // The identity exists before the pod that uses it: lower hook weights are created first.
  for (const kind of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding']) assert.equal(get(find(tests, kind, 'meshlet-test-ca-bundle'), 'metadata', 'annotations', 'helm.sh/hook-weight'), '-1', kind);
});

test('Gateway TLS Secrets: cluster-wide only with access=cluster (ADR 0010), else Roles per namespace, by name when listed', async () => {
  const secretRules = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind)
    .flatMap((r) => (get(r, 'rules') as Obj[]).filter((rule) => (rule.resources as string[]).includes('secrets')).map((rule) => ({ ns: get(r, 'metadata', 'namespace'), name: get(r, 'metadata', 'name'), rule })));
  const cluster = objects(await template(GATEWAY_API));
  assert.deepEqual(secretRules(cluster, 'ClusterRole').map((x) => x.rule), [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }]);
  assert.match(await readFile(join(CHART, 'templates/controller-rbac.yaml'), 'utf8'), /# TLS Secrets Gateway listeners name, in any namespace[^\n]*\n[^\n]*docs\/adr\/0010-gateway-tls-secret-access\.md/);

  const named = objects(await template([...GATEWAY_API, '--set', 'gatewaySecrets.access=names', '--set', 'gatewaySecrets.names={shop/tls-b,shop/tls-a,edge/wild}']));
  assert.deepEqual(secretRules(named, 'ClusterRole'), [], 'no cluster-wide Secret rule');
  assert.deepEqual(secretRules(named, 'Role').filter((x) => x.name === 'meshlet-controller-gateway-secrets').map((x) => [x.ns, x.rule.resourceNames]), [['edge', ['wild']], ['shop', ['tls-a', 'tls-b']]]);
  const bindings = named.filter((o) => o.kind === 'RoleBinding' && get(o, 'metadata', 'name') === 'meshlet-controller-gateway-secrets');
  assert.deepEqual(bindings.map((b) => [get(b, 'metadata', 'namespace'), get(b, 'subjects', 0, 'name'), get(b, 'subjects', 0, 'namespace')]), [['edge', 'meshlet-controller', 'meshlet-system'], ['shop', 'meshlet-controller', 'meshlet-system']]);

  const spaces = objects(await template([...GATEWAY_API, '--set', 'gatewaySecrets.access=namespaces', '--set', 'gatewaySecrets.namespaces={shop}']));
  assert.deepEqual(secretRules(spaces, 'ClusterRole'), []);
  assert.deepEqual(secretRules(spaces, 'Role').filter((x) => x.name === 'meshlet-controller-gateway-secrets').map((x) => [x.ns, x.rule.resourceNames]), [['shop', undefined]]);

  for (const [set, complaint] of [
    ['gatewaySecrets.access=namespaces', /gatewaySecrets\.access=namespaces needs gatewaySecrets\.namespaces/],
    ['gatewaySecrets.access=names', /gatewaySecrets\.access=names needs gatewaySecrets\.names/],
    ['gatewaySecrets.access=everywhere', /access/],
    ['gatewaySecrets.names={tls-without-namespace}', /names/],
  ] as const) {
    await assert.rejects(template([...GATEWAY_API, '--set', set]), (err: Error & { stderr: string }) => {
      assert.match(err.stderr, complaint, set);
      return true;
    });
  }
});

test('the ingress gets the injector\'s small-heap NODE_OPTIONS below a 1Gi memory limit only; a user\'s own NODE_OPTIONS is kept', async () => {
  type Env = { name: string; value?: string };
  const env = async (...args: string[]): Promise<Env[]> => {
    const deployment = find(objects(await template([...GATEWAY_API, ...args])), 'Deployment', 'meshlet-ingress');
    return get(deployment, 'spec', 'template', 'spec', 'containers', 0, 'env') as Env[];
  };
  const nodeOptions = async (...args: string[]): Promise<(string | undefined)[]> => (await env(...args)).filter((e) => e.name === 'NODE_OPTIONS').map((e) => e.value);
  const small = [SMALL_HEAP_NODE_OPTIONS];
  // the injector's rule (render.ts): a limit strictly below 2^30 bytes, in any quantity form
  for (const [limit, expected] of [['512Mi', small], ['1023Mi', small], ['1000M', small], ['0.5Gi', small], ['5e8', small],
    ['1Gi', []], ['1024Mi', []], ['1.5Gi', []], ['2G', []], ['1073741824', []]] as const) {
    assert.deepEqual(await nodeOptions('--set-string', `ingress.resources.limits.memory=${limit}`), expected, limit);
  }
  assert.deepEqual(await nodeOptions('--set', 'ingress.resources.limits.memory=536870912'), small, 'a YAML number');
  assert.deepEqual(await nodeOptions(), [], 'the default 1Gi');
  assert.deepEqual(await nodeOptions('--set', 'ingress.resources.limits.memory=null'), [], 'no limit');
  const own = ['--set', 'ingress.resources.limits.memory=512Mi', '--set-json', 'ingress.env=[{"name":"NODE_OPTIONS","value":"--max-old-space-size=300"}]'];
  assert.deepEqual(await nodeOptions(...own), ['--max-old-space-size=300'], 'the user\'s own, alone');
  const other = await env('--set', 'ingress.resources.limits.memory=512Mi', '--set-json', 'ingress.env=[{"name":"LOG_FORMAT","valueFrom":{"configMapKeyRef":{"name":"c","key":"k"}}}]');
  assert.deepEqual(other.map((e) => e.name), ['POD_NAME', 'POD_NAMESPACE', 'NODE_OPTIONS', 'LOG_FORMAT'], 'the user\'s other variables follow');
  await assert.rejects(template([...GATEWAY_API, '--set', 'ingress.resources.limits.memory=512MB']), (err: Error & { stderr: string }) => {
    assert.match(err.stderr, /memory/);
    return true;
  });
  // what Kubernetes would refuse at apply time is refused at install: a value that is not a
  // string, and a variable the chart already sets (a duplicate EnvVar name)
  for (const bad of ['[{"name":"LOG_LEVEL","value":3}]', '[{"name":"POD_NAME","value":"x"}]']) {
    await assert.rejects(template([...GATEWAY_API, '--set-json', `ingress.env=${bad}`]), (err: Error & { stderr: string }) => {
      assert.match(err.stderr, /ingress\.env|env/, bad);
      return true;
    }, bad);
  }
});
