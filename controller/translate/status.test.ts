import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MESH_CONTROLLER_NAME } from '../../api/names.ts';
import { PLACEHOLDER_TIME, SUPPORTED_FEATURES } from './index.ts';
import * as f from './test-fixtures.ts';

const base = () => ({ gatewayClasses: [f.gatewayClass()], gateways: [f.gateway('gw', [f.httpListener('http')])], services: [f.service('svc', 'app')] });
const spec = { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }] };

describe('GatewayClass status', () => {
  test('our class is Accepted with the sorted supported features ({name} list)', () => {
    const s = f.statusOf(f.run(f.snapshot(base())), 'GatewayClass', 'meshlet')!;
    assert.equal(f.cond(s.conditions, 'Accepted')!.status, 'True');
    assert.deepEqual(s.supportedFeatures, SUPPORTED_FEATURES.map((name) => ({ name })));
    assert.deepEqual([...SUPPORTED_FEATURES], [...SUPPORTED_FEATURES].sort());
    for (const feature of ['Gateway', 'HTTPRoute', 'GRPCRoute', 'Mesh', 'MeshConsumerRoute', 'ReferenceGrant']) assert.ok(SUPPORTED_FEATURES.includes(feature), feature);
  });

  test('classes of other controllers are ignored', () => {
    const r = f.run(f.snapshot({ gatewayClasses: [f.gatewayClass('theirs', 'example.com/ctl')] }));
    assert.deepEqual(r.statuses, []);
  });

  test('parametersRef is not supported → Accepted False InvalidParameters, and its Gateways are not accepted', () => {
    const gc = { ...f.gatewayClass(), spec: { controllerName: 'meshlet.dev/gateway-controller', parametersRef: { group: '', kind: 'ConfigMap', name: 'x' } } };
    const r = f.run(f.snapshot({ ...base(), gatewayClasses: [gc] }));
    assert.equal(f.cond(f.statusOf(r, 'GatewayClass', 'meshlet')!.conditions, 'Accepted')!.reason, 'InvalidParameters');
    assert.equal(f.cond(f.statusOf(r, 'Gateway', 'gw')!.conditions, 'Accepted')!.status, 'False');
  });
});

describe('XMesh status (GEP-3949)', () => {
  test('an XMesh naming our mesh controller is Accepted with mesh features; others are ignored', () => {
    const mk = (name: string, controllerName: string) => ({ apiVersion: 'gateway.networking.x-k8s.io/v1alpha1', kind: 'XMesh', metadata: { name, generation: 4 }, spec: { controllerName } });
    const r = f.run(f.snapshot({ meshes: [mk('ours', MESH_CONTROLLER_NAME), mk('theirs', 'example.com/mesh')] }));
    const s = f.statusOf(r, 'XMesh', 'ours')!;
    const c = f.cond(s.conditions, 'Accepted')!;
    assert.deepEqual([c.status, c.reason, c.observedGeneration], ['True', 'Accepted', 4]);
    const names = (s.supportedFeatures as { name: string }[]).map((x) => x.name);
    assert.ok(names.includes('Mesh') && names.includes('HTTPRoute') && !names.includes('Gateway'));
    assert.deepEqual(names, [...names].sort());
    assert.equal(f.statusOf(r, 'XMesh', 'theirs'), undefined);
  });
});

describe('route status bookkeeping', () => {
  test('parent entries of other controllers are kept untouched, ours are appended', () => {
    const foreign = { parentRef: { name: 'elsewhere' }, controllerName: 'example.com/ctl', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'theirs', lastTransitionTime: '2020-01-01T00:00:00Z' }] };
    const route = { ...f.httpRoute('r', 'app', spec), status: { parents: [foreign] } };
    const r = f.run(f.snapshot({ ...base(), httpRoutes: [route] }));
    const ps = f.parents(r, 'HTTPRoute', 'r', 'app');
    assert.deepEqual(ps[0], foreign);
    assert.equal(ps[1]!.controllerName, 'meshlet.dev/gateway-controller');
  });

  test('observedGeneration is the route generation; new conditions carry the placeholder time', () => {
    const r = f.run(f.snapshot({ ...base(), httpRoutes: [f.httpRoute('r', 'app', spec)] }));
    const c = f.cond(f.parents(r, 'HTTPRoute', 'r', 'app')[0]!.conditions, 'Accepted')!;
    assert.equal(c.observedGeneration, 3);
    assert.equal(c.lastTransitionTime, PLACEHOLDER_TIME);
  });

  test('our written condition times are not read back: every route condition carries the placeholder (the writer keeps stored times)', () => {
    const first = f.run(f.snapshot({ ...base(), httpRoutes: [f.httpRoute('r', 'app', spec)] }));
    const written = structuredClone(f.statusOf(first, 'HTTPRoute', 'r', 'app')!) as { parents: { conditions: { lastTransitionTime: string }[] }[] };
    for (const c of written.parents[0]!.conditions) c.lastTransitionTime = '2026-05-05T05:05:05Z';
    const again = f.run(f.snapshot({ ...base(), httpRoutes: [{ ...f.httpRoute('r', 'app', spec), status: written }] }));
    // the status we wrote coming back changes nothing in what translation asks for
    assert.deepEqual(f.statusOf(again, 'HTTPRoute', 'r', 'app'), f.statusOf(first, 'HTTPRoute', 'r', 'app'));
    const broken = { ...spec, rules: [{ backendRefs: [{ name: 'ghost', port: 80 }] }] };
    const changed = f.run(f.snapshot({ ...base(), httpRoutes: [{ ...f.httpRoute('r', 'app', broken), status: written }] }));
    const conds = f.parents(changed, 'HTTPRoute', 'r', 'app')[0]!.conditions;
    assert.equal(f.cond(conds, 'Accepted')!.lastTransitionTime, PLACEHOLDER_TIME);
    assert.equal(f.cond(conds, 'ResolvedRefs')!.lastTransitionTime, PLACEHOLDER_TIME);
  });

  test('when a route drops its parentRefs, our old entries are removed and foreign ones kept', () => {
    const old = { parents: [{ parentRef: { name: 'gw', namespace: 'infra' }, controllerName: 'meshlet.dev/gateway-controller', conditions: [] }, { parentRef: { name: 'x' }, controllerName: 'example.com/ctl', conditions: [] }] };
    const r = f.run(f.snapshot({ ...base(), httpRoutes: [{ ...f.httpRoute('r', 'app', { rules: [] }), status: old }] }));
    assert.deepEqual(f.parents(r, 'HTTPRoute', 'r', 'app').map((p) => p.controllerName), ['example.com/ctl']);
  });

  test('a route that never involved us gets no status update', () => {
    const r = f.run(f.snapshot({ ...base(), httpRoutes: [f.httpRoute('r', 'app', { parentRefs: [{ name: 'not-ours' }] })] }));
    assert.equal(f.statusOf(r, 'HTTPRoute', 'r', 'app'), undefined);
  });

  test('duplicate parentRefs produce one entry', () => {
    const r = f.run(f.snapshot({ ...base(), httpRoutes: [f.httpRoute('r', 'app', { ...spec, parentRefs: [{ name: 'gw', namespace: 'infra' }, { name: 'gw', namespace: 'infra' }] })] }));
    assert.equal(f.parents(r, 'HTTPRoute', 'r', 'app').length, 1);
  });
});
