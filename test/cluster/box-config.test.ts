// Pure pieces of the box, checked without starting it: the addresses and configuration the
// components are started with.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { firstServiceIp } from './box/index.ts';
import { jaegerConfig } from './box/jaeger.ts';

describe('firstServiceIp (the kubernetes Service ClusterIP the serving certificate must cover)', () => {
  const cases: [string, string][] = [
    ['10.96.0.0/16', '10.96.0.1'],
    ['10.96.5.7/16', '10.96.0.1'],
    ['10.0.0.0/24', '10.0.0.1'],
    ['172.20.255.0/24', '172.20.255.1'],
    ['192.168.0.128/25', '192.168.0.129'],
    ['10.0.0.0/8', '10.0.0.1'],
  ];
  for (const [cidr, ip] of cases) it(`${cidr} → ${ip}`, () => assert.equal(firstServiceIp(cidr), ip));
  for (const bad of ['10.96.0.0', '10.96.0.0/31', '300.1.1.0/24', 'fd00::/108', '10.96.0/16']) {
    it(`refuses ${bad}`, () => assert.throws(() => firstServiceIp(bad), /not an IPv4 CIDR/));
  }
});

describe('jaegerConfig', () => {
  it('binds every listener to the chosen host and ports, none to the stock fixed ports', () => {
    const text = jaegerConfig('10.77.0.1', { otlpHttp: 40001, otlpGrpc: 40002, queryHttp: 40003, queryGrpc: 40004 });
    const endpoints = [...text.matchAll(/endpoint: (\S+)/g)].map((m) => m[1]).sort();
    assert.deepEqual(endpoints, ['10.77.0.1:40001', '10.77.0.1:40002', '10.77.0.1:40003', '10.77.0.1:40004']);
    const config = parse(text) as { service: { telemetry: { metrics: { level: string } } }; extensions: { jaeger_query: { enable_tracing: boolean } } };
    assert.equal(config.service.telemetry.metrics.level, 'none', 'no internal metrics listener on :8888');
    assert.equal(config.extensions.jaeger_query.enable_tracing, false, 'no self-tracing to localhost:4317');
  });
});
