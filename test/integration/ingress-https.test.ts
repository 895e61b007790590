// HTTPS termination at the ingress: certificate chosen by SNI, HTTP/1.1 and HTTP/2 (ALPN),
// X-Forwarded-Proto https, and 421 when a request's Host belongs to another listener.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type tls from 'node:tls';
import { ManualTableSource } from '../../agent/table-source.ts';
import { ROUTING_TABLE_API_VERSION, validate, withVersion, type GatewayIR } from '../../api/index.ts';
import { startIngress, type RunningIngress } from '../../ingress/index.ts';
import { startEchoServer, type CapturedRequest, type EchoServer } from '../support/echo-server.ts';
import { backend, backendName, rule } from '../support/routing-tables.ts';
import { selfSignedCert, type CertPair } from '../support/self-signed-cert.ts';

const quiet = (): void => undefined;

describe('ingress HTTPS', () => {
  let echo: EchoServer;
  let ingress: RunningIngress;
  let foo: CertPair;
  let bar: CertPair;
  let port: number;

  before(async () => {
    echo = await startEchoServer({ pod: 'web-0', namespace: 'default' });
    foo = selfSignedCert(['foo.example.com']);
    bar = selfSignedCert(['bar.example.com']);
    const WEB = backendName('default', 'web', 80);
    const listener = (name: string, hostname: string, secret: string): GatewayIR['ports'][number]['listeners'][number] => ({
      name: `gateway/default/gw/listener/${name}`, listenerName: name, hostname, certificates: [secret],
      virtualHosts: [{ hostname, rules: [rule({ route: name, backends: [{ backend: WEB }] })] }],
    });
    const gw: GatewayIR = {
      name: 'gateway/default/gw', source: { kind: 'Gateway', namespace: 'default', name: 'gw' }, className: 'meshlet', addresses: [],
      ports: [{ port: 443, protocol: 'HTTPS', listeners: [listener('bar', 'bar.example.com', 'secret/default/bar'), listener('foo', 'foo.example.com', 'secret/default/foo')] }],
    };
    const table = validate(withVersion({
      apiVersion: ROUTING_TABLE_API_VERSION, gateways: [gw], services: [],
      backends: [backend('default', 'web', 80, [{ port: echo.port }])],
      secrets: [
        { name: 'secret/default/bar', certificateChain: bar.cert, privateKey: bar.key },
        { name: 'secret/default/foo', certificateChain: foo.cert, privateKey: foo.key },
      ],
      policies: [],
    }));
    ingress = await startIngress({ source: new ManualTableSource(table), host: '127.0.0.1', bindPort: () => 0, adminPort: 0, log: quiet });
    port = ingress.listenerPorts().get(443)!;
  });
  after(async () => {
    await ingress.close();
    await echo.close();
  });

  function get(servername: string, host: string, ca: string): Promise<{ status: number; body: string; peerCN: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, servername, ca, path: '/secure', headers: { host }, agent: false }, (res) => {
        let body = '';
        const cert = (res.socket as tls.TLSSocket).getPeerCertificate();
        res.on('data', (d) => {
          body += String(d);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, peerCN: String(cert.subject.CN) }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('the certificate is chosen by SNI and requests are routed', async () => {
    const f = await get('foo.example.com', 'foo.example.com', foo.cert);
    assert.equal(f.status, 200);
    assert.equal(f.peerCN, 'foo.example.com');
    const echoed = JSON.parse(f.body) as CapturedRequest;
    assert.deepEqual(echoed.headers['X-Forwarded-Proto'], ['https']);
    const b = await get('bar.example.com', 'bar.example.com', bar.cert);
    assert.equal(b.peerCN, 'bar.example.com');
  });

  test('a Host served by another listener than the SNI gets 421', async () => {
    const r = await get('foo.example.com', 'bar.example.com', foo.cert);
    assert.equal(r.status, 421);
  });

  test('/metrics on the ingress admin port counts its in-flight work and says ingress', async () => {
    const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: ingress.ports.admin, path: '/metrics' }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => { text += d.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      }).on('error', reject);
    });
    assert.equal(r.status, 200);
    assert.match(r.text, /^meshlet_proxy_inflight\{mode="ingress"\} \d+$/m);
  });

  test('config_dump never shows private keys', async () => {
    const dump = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: ingress.ports.admin, path: '/config_dump' }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += String(d);
        });
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    assert.ok(dump.includes('secret/default/foo'));
    assert.ok(!dump.includes('PRIVATE KEY'));
  });

  test('HTTP/2 is negotiated with ALPN', async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { servername: 'foo.example.com', ca: foo.cert });
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const s = session.request({ ':path': '/h2', ':authority': 'foo.example.com' });
      let status = 0;
      let body = '';
      s.on('response', (h: http2.IncomingHttpHeaders) => {
        status = Number(h[':status']);
      });
      s.on('data', (d) => {
        body += String(d);
      });
      s.on('end', () => resolve({ status, body }));
      s.on('error', reject);
    });
    session.close();
    assert.equal(result.status, 200);
    assert.equal((JSON.parse(result.body) as CapturedRequest).path, '/h2');
  });
});
