// The golden harness's guard against misspelt fixture fields: known-fields must refuse what
// is not in a kind's schema, wherever it hides, and accept what is.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { unknownFields } from '../../support/known-fields.ts';

const gateway = (listener: Record<string, unknown>): { kind: string } & Record<string, unknown> => ({
  apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'g', namespace: 'ns', labels: { any: 'x' } },
  spec: { gatewayClassName: 'meshlet', listeners: [{ name: 'http', port: 80, protocol: 'HTTP', ...listener }] },
});

describe('known-fields', () => {
  test('accepts a Gateway that uses only Gateway fields, with free-form labels', () => {
    assert.deepEqual(unknownFields(gateway({ hostname: 'a.example', allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { k: 'v' } } } } })), []);
  });

  test('reports a misspelt field with its path, inside lists', () => {
    assert.deepEqual(unknownFields(gateway({ hostnmae: 'a.example' })), ['Gateway.spec.listeners[0].hostnmae']);
  });

  test('reports an object where a scalar belongs', () => {
    assert.deepEqual(unknownFields(gateway({ hostname: { value: 'a' } })), ['Gateway.spec.listeners[0].hostname: expected a scalar, got an object']);
  });

  test('checks HTTPRoute filters and backendRef filters', () => {
    const route = {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r' },
      spec: { rules: [{ backendRefs: [{ name: 'b', port: 80, filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { sett: [] } }] }] }] },
    };
    assert.deepEqual(unknownFields(route), ['HTTPRoute.spec.rules[0].backendRefs[0].filters[0].requestHeaderModifier.sett']);
  });

  test('refuses kinds golden inputs have no schema for', () => {
    assert.deepEqual(unknownFields({ kind: 'ConfigMap' }), ['ConfigMap: kind not allowed in golden inputs']);
  });
});
