import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_CONTROLLER_NAME } from '../../api/names.ts';
import { translateGatewayClasses } from './gateway-class.ts';
import type { KubeObject } from './snapshot.ts';

const cls: KubeObject = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'meshlet', generation: 3 }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } };

function condition(bundle: string | null | undefined, type: string): { status: string; reason: string } {
  const { statuses } = translateGatewayClasses([cls], bundle);
  const conds = statuses[0]!.status.conditions as { type: string; status: string; reason: string }[];
  return conds.find((c) => c.type === type)!;
}

const cases: [string, string | null | undefined, string, string][] = [
  ['the implemented bundle version', 'v1.6.0', 'True', 'SupportedVersion'],
  ['an older v1 bundle', 'v1.2.1', 'True', 'SupportedVersion'],
  ['a CRD without the bundle-version annotation', null, 'False', 'UnsupportedVersion'],
  ['an unsupported version (v0.0.0, as the conformance test sets)', 'v0.0.0', 'False', 'UnsupportedVersion'],
  ['a newer minor than meshlet implements', 'v1.7.0', 'False', 'UnsupportedVersion'],
  ['garbage in the annotation', 'latest', 'False', 'UnsupportedVersion'],
  ['file mode (no CRDs to ask)', undefined, 'True', 'SupportedVersion'],
];

for (const [what, bundle, status, reason] of cases) {
  test(`SupportedVersion for ${what}: ${status}/${reason}, and the class stays Accepted`, () => {
    assert.deepEqual(condition(bundle, 'SupportedVersion'), { ...condition(bundle, 'SupportedVersion'), status, reason });
    assert.equal(condition(bundle, 'Accepted').status, 'True');
  });
}

test('classes of other controllers get no status from us', () => {
  const other = { ...cls, metadata: { name: 'istio' }, spec: { controllerName: 'istio.io/gateway-controller' } };
  assert.equal(translateGatewayClasses([other], 'v1.6.0').statuses.length, 0);
});
