// The chart's `helm template` output for every golden case (and the chart's own CRDs) is valid
// against the Kubernetes OpenAPI v3 schemas and the Gateway API CRDs, offline: both come from Go
// modules that scripts/k8s-schemas.sh finds in (or fetches once into) the module cache, at the
// versions the cluster tier runs. A deliberately wrong manifest shows the validator refuses.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { goldenCases } from '../../support/golden.ts';
import { ManifestValidator } from './k8s-schemas.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHART = join(ROOT, 'charts/meshlet');
const DIR = fileURLToPath(new URL('./', import.meta.url));
type Obj = Record<string, unknown>;
let helm = '';
const validator = new ManifestValidator();

before(async () => {
  const [built, schemas] = await Promise.all([
    run('bash', [join(ROOT, 'scripts/build-helm.sh')], { timeout: 900_000 }),
    run('bash', [join(ROOT, 'scripts/k8s-schemas.sh')], { timeout: 600_000 }),
  ]);
  helm = built.stdout.trim().split('\n').at(-1) ?? '';
  const [kubernetes, gatewayApi] = schemas.stdout.trim().split('\n');
  validator.addKubernetes(kubernetes ?? '');
  for (const channel of ['standard', 'experimental']) validator.addCrdDir(join(gatewayApi ?? '', 'config/crd', channel));
  validator.addCrdDir(join(CHART, 'crds'));
});

const objects = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJS() as Obj).filter((o) => o !== null);

async function render(caseFile: string): Promise<Obj[]> {
  const spec = parse(await readFile(caseFile, 'utf8')) as { valuesFiles: string[]; values: Obj };
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-chart-schema-'));
  try {
    const inline = join(dir, 'values.yaml');
    await writeFile(inline, JSON.stringify(spec.values));
    const { stdout } = await run(helm, ['template', 'meshlet', CHART, '--namespace', 'meshlet-system', '--include-crds',
      '--api-versions', 'gateway.networking.k8s.io/v1', ...spec.valuesFiles.flatMap((f) => ['-f', join(CHART, f)]), '-f', inline], { timeout: 60_000 });
    return objects(stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const c of goldenCases(DIR)) {
  test(`chart schema: every object of ${c.name} is valid`, async () => {
    const objs = await render(c.inFile);
    assert.ok(objs.some((o) => o.kind === 'CustomResourceDefinition'), 'the chart CRDs are validated too');
    assert.ok(objs.some((o) => o.kind === 'GatewayClass'), 'a Gateway API kind is validated too');
    assert.deepEqual(objs.flatMap((o) => validator.validate(o)), []);
  });
}

test('a wrong manifest is refused: misspelt field, wrong type, missing required, unknown kind', async () => {
  const [deploy, gatewayClass] = await render(join(DIR, 'default.in.yaml')).then((objs) => [
    objs.find((o) => o.kind === 'Deployment'), objs.find((o) => o.kind === 'GatewayClass')]);
  assert.ok(deploy && gatewayClass);
  const copy = (o: Obj) => JSON.parse(JSON.stringify(o)) as Obj & { spec: Obj & { template: { spec: { containers: Obj[] } } } };
  assert.deepEqual(validator.validate(deploy), []);

  const misspelt = copy(deploy);
  misspelt.spec.template.spec.containers[0] = { ...misspelt.spec.template.spec.containers[0], imagePullPolice: 'Always' };
  assert.match(validator.validate(misspelt).join('\n'), /\/spec\/template\/spec\/containers\/0 .*\(imagePullPolice\)/);

  const wrongType = copy(deploy);
  wrongType.spec.replicas = 'two';
  assert.match(validator.validate(wrongType).join('\n'), /\/spec\/replicas must be integer/);

  const noSelector = copy(deploy);
  delete noSelector.spec.selector;
  assert.match(validator.validate(noSelector).join('\n'), /\/spec must have required property 'selector'/);

  const badClass: Obj = { ...gatewayClass, spec: { controller: 'meshlet.dev/gateway-controller' } };
  assert.match(validator.validate(badClass).join('\n'), /GatewayClass\/.*\/spec .*\(controller\)|must have required property 'controllerName'/);

  assert.deepEqual(validator.validate({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }), ['Widget/w: no schema for example.com/v1 Widget']);
});
