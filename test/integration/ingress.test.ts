// The ingress on real sockets: listeners bound from the table's Gateways (and re-bound when it
// changes), Gateway selection by Host on a shared port, listener isolation, routing and
// filters, X-Forwarded-For/-Proto.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startIngress, type RunningIngress } from '../../ingress/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send, type SimpleResponse } from '../support/http-client.ts';
import { backend, backendName, gateway, rule, table } from '../support/routing-tables.ts';

const quiet = (): void => undefined;

describe('ingress', () => {
  let web: EchoServer;
  let api: EchoServer;
  let ingress: RunningIngress;
  const source = new ManualTableSource();
  const WEB = backendName('default', 'web', 80);
  const API = backendName('default', 'api', 80);
  const backends = (): ReturnType<typeof backend>[] => [backend('default', 'api', 80, [{ port: api.port }]), backend('default', 'web', 80, [{ port: web.port }])];

  before(async () => {
    web = await startEchoServer({ pod: 'web-0', namespace: 'default' });
    api = await startEchoServer({ pod: 'api-0', namespace: 'default' });
    source.push(table({
      backends: backends(),
      gateways: [
        gateway({ name: 'public', port: 80, listeners: [
          { name: 'api', hostname: 'api.example.com', vhosts: [{ hostname: 'api.example.com', rules: [
            rule({ route: 'api', path: { type: 'PathPrefix', value: '/v1' }, backends: [{ backend: API }], filters: [
              { type: 'ResponseHeaderModifier', modifier: { set: [{ name: 'x-gateway', value: 'public' }], add: [], remove: [] } },
            ] }),
          ] }] },
          { name: 'any', hostname: null, vhosts: [{ hostname: '*', rules: [
            rule({ route: 'web', path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: WEB }] }),
          ] }] },
        ] }),
        gateway({ name: 'partner', port: 80, listeners: [
          { name: 'partner', hostname: 'partner.example.org', vhosts: [{ hostname: 'partner.example.org', rules: [
            rule({ route: 'partner', path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: API }], filters: [
              { type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x-partner', value: '1' }], add: [], remove: [] } },
            ] }),
          ] }] },
        ] }),
      ],
    }));
    ingress = await startIngress({ source, host: '127.0.0.1', bindPort: () => 0, adminPort: 0, log: quiet });
  });
  after(async () => {
    await ingress.close();
    await web.close();
    await api.close();
  });

  const port = (gatewayPort = 80): number => ingress.listenerPorts().get(gatewayPort)!;

  test('binds one listener per Gateway port', () => {
    assert.deepEqual([...ingress.listenerPorts().keys()], [80]);
  });

  test('routes by listener hostname and path, with response filters', async () => {
    const r = await send({ port: port(), path: '/v1/users', authority: 'api.example.com' });
    assert.equal(r.echo?.pod, 'api-0');
    assert.equal(r.headers['x-gateway'], 'public');
    const w = await send({ port: port(), path: '/index.html', authority: 'www.example.com' });
    assert.equal(w.echo?.pod, 'web-0');
  });

  test('listener isolation: a Host served by a specific listener never falls back', async () => {
    const r = await send({ port: port(), path: '/not-v1', authority: 'api.example.com' });
    assert.equal(r.status, 404);
  });

  test('Gateways sharing a port are chosen by Host', async () => {
    const r = await send({ port: port(), path: '/', authority: 'partner.example.org' });
    assert.equal(r.echo?.pod, 'api-0');
    assert.deepEqual(r.echo?.headers['X-Partner'], ['1']);
  });

  test('one kept-alive connection: each request goes to the Gateway of its own Host, in the current table', async () => {
    // The connection keeps its last Gateway choice (issue 16): a request with another Host, or
    // after a table change, must not reuse it.
    const original = source.current!;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let opened = 0;
    const connect = agent.createConnection.bind(agent);
    agent.createConnection = (...args: Parameters<typeof connect>) => {
      opened++;
      return connect(...args);
    };
    try {
      const at = (authority: string): Promise<SimpleResponse> => send({ port: port(), path: '/', authority, agent });
      const p1 = await at('partner.example.org');
      assert.equal(p1.echo?.pod, 'api-0');
      assert.deepEqual(p1.echo?.headers['X-Partner'], ['1']);
      const w = await at('www.example.com');
      assert.equal(w.echo?.pod, 'web-0');
      assert.equal(w.echo?.headers['X-Partner'], undefined);
      const p2 = await at('partner.example.org');
      assert.deepEqual(p2.echo?.headers['X-Partner'], ['1']);
      // partner.example.org moves to Gateway 'public' (Gateway 'partner' is gone), same port
      source.push(table({
        backends: backends(),
        gateways: [gateway({ name: 'public', port: 80, listeners: [
          { name: 'partner', hostname: 'partner.example.org', vhosts: [{ hostname: 'partner.example.org', rules: [
            rule({ route: 'moved', path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: WEB }] }),
          ] }] },
        ] })],
      }));
      await ingress.settled();
      const moved = await at('partner.example.org');
      assert.equal(moved.status, 200);
      assert.equal(moved.echo?.pod, 'web-0');
      assert.equal(moved.echo?.headers['X-Partner'], undefined);
      assert.equal(opened, 1);
    } finally {
      agent.destroy();
      source.push(original);
      await ingress.settled();
    }
  });

  test('X-Forwarded-For is appended and X-Forwarded-Proto set', async () => {
    const r = await send({ port: port(), path: '/', authority: 'www.example.com', headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' } });
    assert.deepEqual(r.echo?.headers['X-Forwarded-For'], ['203.0.113.7, 127.0.0.1']);
    assert.deepEqual(r.echo?.headers['X-Forwarded-Proto'], ['http']);
  });

  test('a new table opens new listener ports and closes removed ones', async () => {
    source.push(table({
      backends: backends(),
      gateways: [gateway({ name: 'public', port: 8080, listeners: [
        { name: 'any', hostname: null, vhosts: [{ hostname: '*', rules: [rule({ route: 'web', backends: [{ backend: WEB }] })] }] },
      ] })],
    }));
    await ingress.settled();
    assert.deepEqual([...ingress.listenerPorts().keys()], [8080]);
    const r = await send({ port: port(8080), path: '/', authority: 'anything' });
    assert.equal(r.echo?.pod, 'web-0');
  });
});
