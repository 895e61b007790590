// The status checks must be able to fail: each is fed a status that breaks one expectation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject, StatusUpdate } from '../../../controller/translate/snapshot.ts';
import { checkConditions, checkGateways, checkLatest } from './check-status.ts';
import { parseExpectation } from './expectations.ts';

const route: KubeObject = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'ns', generation: 2 } };
const cond = (type: string, status: string, reason: string, observedGeneration = 2): Record<string, unknown> => ({ type, status, reason, observedGeneration });
const routeStatus = (conditions: Record<string, unknown>[]): StatusUpdate => ({
  apiVersion: route.apiVersion, kind: 'HTTPRoute', namespace: 'ns', name: 'r',
  status: { parents: [{ parentRef: { name: 'gw' }, controllerName: 'meshlet.dev/gateway-controller', conditions }] },
});
const gatewayStatus = (listener: Record<string, unknown>): StatusUpdate => ({
  apiVersion: route.apiVersion, kind: 'Gateway', namespace: 'ns', name: 'gw', status: { listeners: [{ name: 'http', ...listener }] },
});

const exp = parseExpectation({
  test: 'T', source: 's',
  conditions: [{ object: 'HTTPRoute ns/r', parent: 'Gateway ns/gw', type: 'Accepted', status: 'True', reason: 'Accepted' }],
  listeners: [{ gateway: 'ns/gw', listener: 'http', attachedRoutes: 1, supportedKinds: ['HTTPRoute'] }],
  latestConditions: ['HTTPRoute ns/r'],
}, 'inline');

describe('check-status', () => {
  test('passes a status that meets every expectation', () => {
    const statuses = [routeStatus([cond('Accepted', 'True', 'Accepted')]), gatewayStatus({ attachedRoutes: 1, supportedKinds: [{ kind: 'HTTPRoute' }, { kind: 'GRPCRoute' }] })];
    assert.deepEqual([...checkConditions(exp, statuses, [route]), ...checkGateways(exp, statuses), ...checkLatest(exp, statuses, [route])], []);
  });

  test('reports a wrong reason and a stale observedGeneration', () => {
    const failures = checkConditions(exp, [routeStatus([cond('Accepted', 'True', 'Other', 1)])], [route]);
    assert.equal(failures.length, 2);
    assert.match(failures[0]!, /Accepted=True\/Other/);
    assert.match(failures[1]!, /observedGeneration 1, object generation 2/);
    assert.equal(checkLatest(exp, [routeStatus([cond('Accepted', 'True', 'Accepted', 1)])], [route]).length, 1);
  });

  test('reports a parent entry written by another controller as missing', () => {
    const foreign = routeStatus([cond('Accepted', 'True', 'Accepted')]);
    (foreign.status.parents as Record<string, unknown>[])[0]!.controllerName = 'example.com/other';
    assert.match(checkConditions(exp, [foreign], [route])[0]!, /found 0/);
  });

  test('reports attachedRoutes and missing supported kinds', () => {
    const failures = checkGateways(exp, [gatewayStatus({ attachedRoutes: 0, supportedKinds: [{ kind: 'GRPCRoute' }] })]);
    assert.equal(failures.length, 2);
  });
});
