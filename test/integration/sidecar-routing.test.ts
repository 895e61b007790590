// The sidecar's outbound path on real sockets: routing on the original destination, each
// filter, redirects, direct answers (404/500/503), exact weighted shares on one connection,
// explicit mode (Service name, ClusterIP, absolute-form) and inbound forwarding to the app.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { backend, backendName, rule, service, table } from '../support/routing-tables.ts';

const quiet = (): void => undefined;

describe('sidecar outbound routing', () => {
  let a: EchoServer;
  let b: EchoServer;
  let proxy: RunningProxy;
  let dest = { address: '10.96.0.10', port: 80 };
  const source = new ManualTableSource();

  before(async () => {
    a = await startEchoServer({ pod: 'a-0', namespace: 'default' });
    b = await startEchoServer({ pod: 'b-0', namespace: 'default' });
    const A = backendName('default', 'a', 80);
    const B = backendName('default', 'b', 80);
    source.push(table({
      backends: [
        backend('default', 'a', 80, [{ port: a.port, podName: 'a-0' }]),
        backend('default', 'b', 80, [{ port: b.port, podName: 'b-0' }]),
        backend('default', 'empty', 80, []),
        backend('default', 'dead', 80, [{ port: 1 }]),
        backend('shop', 'cart', 80, []),
      ],
      services: [
        service({ name: 'a', clusterIP: '10.96.0.10', port: 80 }),
        service({ name: 'empty', clusterIP: '10.96.0.12', port: 80 }),
        service({ name: 'dead', clusterIP: '10.96.0.13', port: 80 }),
        service({
          namespace: 'shop', name: 'cart', clusterIP: '10.96.0.14', port: 80,
          rules: [rule({ route: 'producer', namespace: 'shop', backends: [{ backend: A }] })],
          consumers: [
            { namespace: 'default', rules: [rule({ route: 'mine', backends: [{ backend: B }] })] },
            { namespace: 'other', rules: [rule({ route: 'theirs', namespace: 'other', backends: [{ backend: A }] })] },
          ],
        }),
        service({
          name: 'b', clusterIP: '10.96.0.11', port: 80,
          rules: [
            rule({ route: 'hdr', index: 0, path: { type: 'PathPrefix', value: '/hdr' }, backends: [{ backend: B }], filters: [
              { type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x-set', value: 'one' }], add: [{ name: 'x-add', value: 'two' }], remove: ['x-remove'] } },
              { type: 'ResponseHeaderModifier', modifier: { set: [{ name: 'x-resp', value: 'yes' }], add: [], remove: ['x-drop'] } },
            ] }),
            rule({ route: 'rw', index: 0, path: { type: 'PathPrefix', value: '/old' }, backends: [{ backend: B }], filters: [
              { type: 'URLRewrite', hostname: 'rewritten.example', path: { type: 'ReplacePrefixMatch', value: '/new', prefix: '/old' } },
            ] }),
            rule({ route: 'redir', index: 0, path: { type: 'PathPrefix', value: '/redirect' }, action: {
              type: 'Redirect', redirect: { scheme: 'https', hostname: 'example.com', port: null, path: null, statusCode: 301 },
            } }),
            rule({ route: 'bad', index: 0, path: { type: 'PathPrefix', value: '/invalid' }, backends: [{ backend: null, invalidReason: 'BackendNotFound' }] }),
            rule({ route: 'split', index: 0, path: { type: 'PathPrefix', value: '/split' }, backends: [{ backend: A, weight: 3 }, { backend: B, weight: 1 }] }),
            rule({ route: 'bf', index: 0, path: { type: 'PathPrefix', value: '/backend-filter' }, backends: [{ backend: A, filters: [
              { type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x-backend', value: 'a' }], add: [], remove: [] } },
            ] }] }),
            rule({ route: 'only', index: 0, path: { type: 'Exact', value: '/exact' }, backends: [{ backend: B }] }),
          ].sort((x, y) => (x.name < y.name ? -1 : 1)),
        }),
      ],
    }));
    proxy = await startSidecar({
      namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
      originalDestination: () => dest, explicit: true, log: quiet,
    });
  });
  after(async () => {
    await proxy.close();
    await a.close();
    await b.close();
  });

  const to = (address: string, port = 80): void => {
    dest = { address, port };
  };

  test('a Service without routes goes to its own endpoints, Host untouched', async () => {
    to('10.96.0.10');
    const r = await send({ port: proxy.ports.outbound!, path: '/x?y=1', authority: 'a.default.svc:80' });
    assert.equal(r.status, 200);
    assert.equal(r.echo?.pod, 'a-0');
    assert.equal(r.echo?.path, '/x?y=1');
    assert.equal(r.echo?.host, 'a.default.svc:80');
  });

  test('consumer routes of the sidecar\'s namespace replace the producer routes', async () => {
    to('10.96.0.14');
    const r = await send({ port: proxy.ports.outbound!, path: '/' });
    assert.equal(r.echo?.pod, 'b-0');
  });

  test('RequestHeaderModifier and ResponseHeaderModifier', async () => {
    to('10.96.0.11');
    const r = await send({ port: proxy.ports.outbound!, path: '/hdr', headers: { 'x-add': 'zero', 'x-remove': 'gone', 'x-echo-set-header': 'X-Drop: d, X-Keep: k' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.echo?.headers['X-Set'], ['one']);
    assert.equal(r.echo?.headers['X-Add']?.join(','), 'zero,two');
    assert.equal(r.echo?.headers['X-Remove'], undefined);
    assert.equal(r.headers['x-resp'], 'yes');
    assert.equal(r.headers['x-drop'], undefined);
    assert.equal(r.headers['x-keep'], 'k');
  });

  test('URLRewrite replaces the prefix and the host', async () => {
    to('10.96.0.11');
    const r = await send({ port: proxy.ports.outbound!, path: '/old/page?q=1' });
    assert.equal(r.echo?.path, '/new/page?q=1');
    assert.equal(r.echo?.host, 'rewritten.example');
  });

  test('backend-level filters apply after the rule', async () => {
    to('10.96.0.11');
    const r = await send({ port: proxy.ports.outbound!, path: '/backend-filter' });
    assert.equal(r.echo?.pod, 'a-0');
    assert.deepEqual(r.echo?.headers['X-Backend'], ['a']);
  });

  test('redirects are answered by the proxy', async () => {
    to('10.96.0.11');
    const r = await send({ port: proxy.ports.outbound!, path: '/redirect/x' });
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://example.com/redirect/x');
  });

  test('no matching rule is 404, invalid backend 500, no endpoints and refused connections 503', async () => {
    to('10.96.0.11');
    assert.equal((await send({ port: proxy.ports.outbound!, path: '/exact/not' })).status, 404);
    assert.equal((await send({ port: proxy.ports.outbound!, path: '/invalid' })).status, 500);
    to('10.96.0.12');
    assert.equal((await send({ port: proxy.ports.outbound!, path: '/' })).status, 503);
    to('10.96.0.13');
    assert.equal((await send({ port: proxy.ports.outbound!, path: '/' })).status, 503);
  });

  test('weights give exact shares even on one reused connection', async () => {
    to('10.96.0.11');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const r = await send({ port: proxy.ports.outbound!, path: '/split', agent });
      counts[r.echo!.pod] = (counts[r.echo!.pod] ?? 0) + 1;
    }
    agent.destroy();
    assert.deepEqual(counts, { 'a-0': 30, 'b-0': 10 });
  });

  test('explicit mode: Service name forms, ClusterIP, and absolute-form proxy requests', async () => {
    to('127.0.0.1', proxy.ports.outbound); // not redirected: the request names its target
    const forms = ['b', 'b.default', 'b.default.svc', 'b.default.svc.cluster.local', '10.96.0.11'];
    for (const authority of forms) {
      const r = await send({ port: proxy.ports.outbound!, path: '/exact', authority: `${authority}:80` });
      assert.equal(r.status, 200, authority);
      assert.equal(r.echo?.pod, 'b-0', authority);
    }
    const r = await send({ port: proxy.ports.outbound!, path: 'http://b.default:80/exact', authority: 'ignored' });
    assert.equal(r.echo?.pod, 'b-0');
    assert.equal(r.echo?.path, '/exact');
    assert.equal((await send({ port: proxy.ports.outbound!, authority: 'nope:80' })).status, 404);
    // Addressed to the sidecar itself: refused, not an endless loop through itself.
    assert.equal((await send({ port: proxy.ports.outbound!, authority: `127.0.0.1:${proxy.ports.outbound!}` })).status, 400);
    // An address that is no mesh Service is not proxied anywhere (no open proxy, no SSRF).
    assert.equal((await send({ port: proxy.ports.outbound!, authority: `127.0.0.1:${a.port}` })).status, 404);
    assert.equal((await send({ port: proxy.ports.outbound!, path: `http://169.254.169.254/latest/meta-data/`, authority: 'x' })).status, 404);
  });

  test('explicit mode: CONNECT tunnels are routed like intercepted connections', async () => {
    to('127.0.0.1', proxy.ports.outbound);
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect(proxy.ports.outbound!, '127.0.0.1');
      let out = '';
      let sent = false;
      c.on('data', (d) => {
        out += String(d);
        if (!sent && out.includes('\r\n\r\n')) {
          sent = true;
          c.write('GET /exact HTTP/1.1\r\nHost: tunnel\r\nConnection: close\r\n\r\n');
        }
      });
      c.on('end', () => resolve(out));
      c.on('error', reject);
      c.setTimeout(5_000, () => c.destroy(new Error('timeout')));
      c.write('CONNECT b.default:80 HTTP/1.1\r\nHost: b.default:80\r\n\r\n');
    });
    assert.match(reply, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 /);
    assert.match(reply, /"pod":"b-0"/);
    assert.match(reply, /"path":"\/exact"/);
  });

  test('inbound forwards to the original destination (the pod IP) on the original port', async () => {
    to('127.0.0.1', a.port);
    const r = await send({ port: proxy.ports.inbound!, path: '/in', authority: 'a.default.svc' });
    assert.equal(r.echo?.pod, 'a-0');
    assert.equal(r.echo?.path, '/in');
  });

  test('inbound never reaches a service the app bound to localhost only', async () => {
    // The app (a-0) listens on 127.0.0.1 only; traffic for "pod IP" 127.0.0.2 must not be
    // delivered to it through the sidecar.
    to('127.0.0.2', a.port);
    const r = await send({ port: proxy.ports.inbound!, path: '/in', authority: 'a.default.svc' });
    assert.equal(r.status, 503);
  });

  test('admin: ready, live and config_dump with the table version', async () => {
    const ready = await send({ port: proxy.ports.admin!, path: '/ready' });
    assert.equal(ready.status, 200);
    const dump = JSON.parse((await send({ port: proxy.ports.admin!, path: '/config_dump' })).text) as { version: string; table: { version: string } };
    assert.equal(dump.version, source.current!.version);
    assert.equal(dump.table.version, source.current!.version);
    assert.equal((await send({ port: proxy.ports.admin!, path: '/live' })).status, 200);
  });
});
