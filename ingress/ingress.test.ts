import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayIR } from '../api/routing-table.ts';
import { addForwardedHeaders } from './forwarded.ts';
import { selectGateway } from './gateway-select.ts';

function gw(name: string, port: number, hostnames: (string | null)[]): GatewayIR {
  return {
    name, source: { kind: 'Gateway', namespace: 'ns', name }, className: 'meshlet', addresses: [],
    ports: [{ port, protocol: 'HTTP', listeners: hostnames.map((h, i) => ({ name: `${name}/l${i}`, listenerName: `l${i}`, hostname: h, certificates: [], virtualHosts: [] })) }],
  };
}

describe('gateway selection on a shared port', () => {
  const gws = [gw('a', 80, [null]), gw('b', 80, ['*.example.com']), gw('c', 80, ['www.example.com']), gw('d', 81, ['x.org'])];
  test('exact beats wildcard beats hostname-less', () => {
    assert.equal(selectGateway(gws, 80, 'www.example.com:80'), 'c');
    assert.equal(selectGateway(gws, 80, 'api.example.com'), 'b');
    assert.equal(selectGateway(gws, 80, 'other.net'), 'a');
  });
  test('only Gateways on the port are candidates', () => {
    assert.equal(selectGateway(gws, 81, 'www.example.com'), 'd');
    assert.equal(selectGateway(gws, 82, 'x.org'), null);
  });
});

describe('forwarded headers', () => {
  test('appends the client to X-Forwarded-For and sets the scheme', () => {
    const h: Record<string, string | string[]> = { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' };
    addForwardedHeaders(h, '::ffff:10.0.0.1', 'http');
    assert.deepEqual(h, { 'x-forwarded-for': '1.2.3.4, 10.0.0.1', 'x-forwarded-proto': 'http' });
    const e: Record<string, string | string[]> = {};
    addForwardedHeaders(e, '::1', 'https');
    assert.deepEqual(e, { 'x-forwarded-for': '::1', 'x-forwarded-proto': 'https' });
  });
});
