// Golden conformance cases: each `<profile>/<Test>.in.yaml` holds the Kubernetes objects of one
// Gateway API conformance test, `<Test>.expect.yaml` what that test asserts (hand-written from
// its Go code), and `<Test>.out.yaml` the statuses and routing table translate() produced,
// rewritten with UPDATE_GOLDEN=1 and compared otherwise. Requests run through the same
// matcher the data plane uses, so a passing case means the proxy would pass that test too.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { validate } from '../../../api/validate.ts';
import { compileTable } from '../../../agent/route/index.ts';
import { translate } from '../../../controller/translate/index.ts';
import { buildSnapshot, type KubeObject } from '../../../controller/translate/snapshot.ts';
import { assertGolden, goldenCases, orphanOutputs } from '../../support/golden.ts';
import { unknownFields } from '../../support/known-fields.ts';
import { loadObjects, parseYamlDocuments } from '../../support/load-yaml.ts';
import { checkConditions, checkGateways, checkLatest } from './check-status.ts';
import { runRequest } from './check-requests.ts';
import { parseExpectation } from './expectations.ts';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
/** The shared ingress's address, as the environment would report it for every Gateway. */
const INGRESS_ADDRESS = '192.0.2.10';

const OUT_HEADER = '# Written by test/golden/conformance/conformance.test.ts with UPDATE_GOLDEN=1: the statuses and routing table\n'
  + '# translate() produced for the .in.yaml next to this file. Review changes before committing.\n';

function gatewayAddresses(objects: KubeObject[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const o of objects) if (o.kind === 'Gateway') out[`${o.metadata.namespace ?? ''}/${o.metadata.name}`] = [INGRESS_ADDRESS];
  return out;
}

function runCase(dir: string, name: string): void {
  test(name, async (t) => {
    const inFile = join(dir, `${name}.in.yaml`);
    const expectFile = join(dir, `${name}.expect.yaml`);
    const outFile = join(dir, `${name}.out.yaml`);
    const objects = loadObjects(readFileSync(inFile, 'utf8'), inFile);
    const [expectDoc] = parseYamlDocuments(readFileSync(expectFile, 'utf8'), expectFile);
    const exp = parseExpectation(expectDoc, expectFile);
    assert.equal(exp.test, name, `${expectFile} names test ${exp.test}`);

    const unknown = objects.flatMap((o) => unknownFields(o as unknown as { kind: string } & Record<string, unknown>)
      .map((p) => `${o.metadata.namespace ?? ''}/${o.metadata.name}: ${p}`));
    assert.deepEqual(unknown, [], 'input objects use fields that are not in their kind');

    const addresses = gatewayAddresses(objects);
    const { snapshot, ignored } = buildSnapshot(objects, { gatewayAddresses: addresses });
    assert.deepEqual(ignored.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`), [], 'objects the snapshot did not take');
    const before = JSON.stringify(snapshot);
    const result = translate(snapshot);

    await t.test('translate is pure and deterministic', () => {
      assert.equal(JSON.stringify(snapshot), before, 'translate() modified its input');
      assert.deepEqual(translate(snapshot), result, 'a second translation of the same snapshot differs');
    });

    await t.test('conditions', () => {
      assert.deepEqual([
        ...checkConditions(exp, result.statuses, objects), ...checkGateways(exp, result.statuses),
        ...checkLatest(exp, result.statuses, objects),
      ], []);
    });
    await t.test('routing table is valid', () => {
      validate(result.ir);
    });
    const compiled = compileTable(result.ir);
    for (const q of exp.requests) {
      await t.test(`request ${q.name}`, () => {
        assert.deepEqual(runRequest(q, compiled, snapshot.services, addresses), []);
      });
    }
    await t.test('out.yaml', () => {
      assertGolden(outFile, OUT_HEADER + stringify({ statuses: result.statuses, ir: result.ir }, { lineWidth: 0 }));
    });
  });
}

for (const profile of readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
  const dir = join(ROOT, profile);
  describe(profile, () => {
    for (const c of goldenCases(dir)) runCase(dir, c.name);
    test('no output without its input', () => {
      assert.deepEqual(orphanOutputs(dir), []);
    });
  });
}
