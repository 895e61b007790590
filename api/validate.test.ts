import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTING_TABLE_API_VERSION, type RouteRuleIR, type RoutingTable } from './routing-table.ts';
import { checkRoutingTable, validate } from './validate.ts';
import { RoutingTableInvalidError } from './errors.ts';
import { computeVersion, entryVersion, withVersion } from './version.ts';

function rule(overrides: Partial<RouteRuleIR> = {}): RouteRuleIR {
  return {
    name: 'httproute/default/r/rule/0/match/0',
    source: { kind: 'HTTPRoute', namespace: 'default', name: 'r', rule: 0, match: 0, creationTimestamp: '2026-01-01T00:00:00Z' },
    match: { path: { type: 'PathPrefix', value: '/' }, method: null, headers: [], queryParams: [] },
    filters: [],
    action: { type: 'Forward', backends: [{ backend: 'service/default/echo/80', weight: 1, filters: [], invalidReason: null }] },
    timeouts: null,
    retry: null,
    ...overrides,
  };
}

function table(r: RouteRuleIR = rule()): RoutingTable {
  return withVersion({
    apiVersion: ROUTING_TABLE_API_VERSION,
    gateways: [{
      name: 'gateway/default/gw',
      source: { kind: 'Gateway', namespace: 'default', name: 'gw' },
      className: 'meshlet',
      addresses: ['127.0.0.1'],
      ports: [{ port: 80, protocol: 'HTTP', listeners: [{ name: 'gateway/default/gw/listener/http', listenerName: 'http', hostname: null, certificates: [], virtualHosts: [{ hostname: '*', rules: [r] }] }] }],
    }],
    services: [],
    backends: [{ name: 'service/default/echo/80', namespace: 'default', serviceName: 'echo', port: 80, appProtocol: null, endpoints: [] }],
    secrets: [],
    policies: [],
  });
}

test('a well-formed table passes and is returned as is', () => {
  const t = table();
  assert.equal(validate(t), t);
});

const broken: [string, (t: RoutingTable) => RoutingTable, RegExp][] = [
  ['a rule pointing at a backend the table does not have', () => table(rule({ action: { type: 'Forward', backends: [{ backend: 'service/default/nope/80', weight: 1, filters: [], invalidReason: null }] } })), /unknown backend 'service\/default\/nope\/80'/],
  ['a negative weight', () => table(rule({ action: { type: 'Forward', backends: [{ backend: 'service/default/echo/80', weight: -1, filters: [], invalidReason: null }] } })), /weight must be a non-negative integer/],
  ['a regex RE2 cannot compile (backreference)', () => table(rule({ match: { path: { type: 'RegularExpression', value: '/(a)\\1' }, method: null, headers: [], queryParams: [] } })), /regular expression does not compile/],
  ['a header value with a newline (header injection)', () => table(rule({ filters: [{ type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x', value: 'a\r\nEvil: 1' }], add: [], remove: [] } }] })), /contains CR, LF or NUL/],
  ['a redirect status that is not a redirect', () => table(rule({ action: { type: 'Redirect', redirect: { scheme: null, hostname: null, port: null, path: null, statusCode: 200 as 301 } } })), /unsupported redirect status 200/],
  ['a port out of range', () => { const t = table(); t.gateways[0]!.ports[0]!.port = 70000; return withVersion(t); }, /port 70000 is not in 1\.\.65535/],
  ['a wrong apiVersion', () => ({ ...table(), apiVersion: 'v0' as typeof ROUTING_TABLE_API_VERSION }), /expected meshlet\.dev\/routing\/v1alpha1/],
  ['unsorted backends', () => { const t = table(); t.backends.unshift({ ...t.backends[0]!, name: 'service/zzz/x/1' }); return withVersion(t); }, /out of order/],
  ['a version that does not match the content (tampered or corrupted)', () => ({ ...table(), version: '0000000000000000' }), /does not match the content hash/],
  ['a filter type this agent does not know (newer controller)', () => table(rule({ filters: [{ type: 'CORS' } as unknown as RouteRuleIR['filters'][number]] })), /unknown filter type 'CORS'/],
  ['a header modifier touching message framing', () => table(rule({ filters: [{ type: 'ResponseHeaderModifier', modifier: { set: [{ name: 'Content-Length', value: '0' }], add: [], remove: [] } }] })), /frames the message/],
  ['an HTTPS listener without a certificate', () => { const t = table(); t.gateways[0]!.ports[0]!.protocol = 'HTTPS'; return withVersion(t); }, /needs a certificate/],
];

for (const [what, make, message] of broken) {
  test(`refuses ${what}`, () => {
    const t = make(structuredClone(table()));
    assert.throws(() => validate(t), (err: unknown) => err instanceof RoutingTableInvalidError && err.code === 'E_ROUTING_TABLE_INVALID' && message.test(err.message));
  });
}

test('every issue is listed, not just the first', () => {
  const r = rule({ action: { type: 'Forward', backends: [{ backend: 'nope', weight: -1, filters: [], invalidReason: null }] } });
  const issues = checkRoutingTable(table(r));
  assert.equal(issues.length, 2);
});

test('the version is a content hash independent of key order', () => {
  const t = table();
  const reordered = JSON.parse(JSON.stringify({ policies: t.policies, secrets: t.secrets, backends: t.backends, services: t.services, gateways: t.gateways, apiVersion: t.apiVersion })) as RoutingTable;
  assert.equal(computeVersion(reordered), t.version);
  const changed = structuredClone(t);
  changed.backends[0]!.port = 81;
  assert.notEqual(computeVersion(changed), t.version);
});

test('an entry-rule version (e1., ADR 0025) is checked by its own rule; a plain one still by the whole JSON; neither passes for the other', () => {
  const t = table();
  const e1 = { ...t, version: entryVersion(t) };
  assert.match(e1.version, /^e1\.[0-9a-f]{16}$/);
  assert.equal(validate(e1), e1);
  assert.equal(validate(t), t, 'a plain content hash (a controller that predates the rule) still validates');
  assert.notEqual(entryVersion(t), `e1.${t.version}`);
  assert.throws(() => validate({ ...t, version: `e1.${t.version}` }), /does not match the content hash/);
  // Key order and object identity do not matter: the same content, parsed afresh, has the same version.
  assert.equal(entryVersion(JSON.parse(JSON.stringify(e1)) as RoutingTable), e1.version);
  const changed = structuredClone(e1);
  changed.backends[0]!.port = 81;
  assert.throws(() => validate(changed), /does not match the content hash/);
});

test('an entry-rule version built the short way (a table of exactly its six fields) is the text the general walk builds', () => {
  const t = table();
  const { version: _v, ...content } = t;
  // An extra key holding undefined sends entryVersion() down its general walk (which skips it).
  const general = entryVersion({ ...content, extra: undefined } as typeof content);
  assert.equal(entryVersion(content), general);
  assert.equal(entryVersion(t), general, 'the version field itself is ignored either way');
  // The apiVersion's part is kept between calls: another value is not read from the kept one.
  const other = { ...content, apiVersion: 'meshlet.dev/v0' } as unknown as typeof content;
  assert.equal(entryVersion(other), entryVersion({ ...other, extra: undefined } as typeof content));
  assert.notEqual(entryVersion(other), general);
});

test('a version made by a rule this end does not know is refused as such (not as corrupted), and not at the version path (no resend loop)', () => {
  const t = { ...table(), version: 'e9.0123456789abcdef' };
  const issues = checkRoutingTable(t);
  assert.deepEqual(issues.map((i) => i.path), ['versionRule']);
  assert.throws(() => validate(t), /version rule 'e9', which this end does not know/);
});

test('{ version: false } skips only the content hash: a stale version passes, every other check still runs', () => {
  const stale = { ...table(), version: '0000000000000000' };
  assert.deepEqual(checkRoutingTable(stale, { version: false }), []);
  const bad = { ...table(rule({ action: { type: 'Forward', backends: [{ backend: 'nope', weight: 1, filters: [], invalidReason: null }] } })), version: '0000000000000000' };
  assert.throws(() => validate(bad, { version: false }), /unknown backend 'nope'/);
});

test('passedRules: a rule found sound is not checked again while its backends exist, and every table gets the issues it gets without it', () => {
  const passed = new WeakMap<RouteRuleIR, string[]>();
  const good = rule({ filters: [{ type: 'RequestMirror', backend: 'service/default/echo/80', percent: 50 }] });
  const bad = rule({ name: 'httproute/default/r/rule/1/match/0', filters: [{ type: 'RequestHeaderModifier', modifier: { set: [{ name: 'bad name', value: 'v' }], add: [], remove: [] } }] });
  const withRules = (rules: RouteRuleIR[], backends = true): RoutingTable => {
    const t = structuredClone(table());
    t.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts[0]!.rules = rules;
    if (!backends) t.backends = [];
    return t;
  };
  const tables = [withRules([good]), withRules([good, bad]), withRules([good], false), withRules([good, bad], false), withRules([good])];
  for (const [i, t] of tables.entries()) {
    assert.deepEqual(checkRoutingTable(t, { version: false, passedRules: passed }), checkRoutingTable(t, { version: false }), `table ${i}`);
  }
  assert.deepEqual(passed.get(good), ['service/default/echo/80', 'service/default/echo/80'], 'kept with the backends it names (mirror, then forward)');
  assert.equal(passed.has(bad), false, 'a rule with an issue is never kept');
  // Kept, it is not looked at again: a regex RE2 cannot compile would otherwise be reported.
  const regex = rule({ match: { path: { type: 'RegularExpression', value: '/ok' }, method: null, headers: [], queryParams: [] } });
  assert.deepEqual(checkRoutingTable(withRules([regex]), { version: false, passedRules: passed }), []);
  regex.match.path.value = '/(a)\\1';
  assert.deepEqual(checkRoutingTable(withRules([regex]), { version: false, passedRules: passed }), [], 'tables are never changed after they are built: a kept rule is trusted');
  assert.equal(checkRoutingTable(withRules([regex]), { version: false }).length, 1);
});
