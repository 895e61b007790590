// e2e: transparent interception in real network namespaces. Pod A gets `meshlet init` and an
// agent stand-in (fixtures/agent-stand-in.ts, uid 1337 after binding) plus an app on 8080 and
// 9090 (9090 excluded from inbound interception); pod B serves 80 and 8080 and also owns the
// "ClusterIPs" 10.96.0.10 / fd00:96::10, reached from A by a route in A's namespace. Needs root:
// run through `npm run test:e2e`.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { NetnsLab, type Pod } from '../support/netns.ts';
import { meshlet } from './cli.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const NODE = process.execPath;
const CLUSTER_IP = '10.96.0.10';
const CLUSTER_IP6 = 'fd00:96::10';

interface ClientResult {
  ok: boolean;
  error?: string;
  lines?: Record<string, unknown>[];
}

async function connect(pod: Pod, host: string, port: number, uid?: number): Promise<ClientResult> {
  const args = [NODE, fixture('tcp-client.ts'), '--host', host, '--port', String(port)];
  if (uid !== undefined) args.push('--uid', String(uid));
  const r = await pod.exec(args, { timeoutMs: 15_000 });
  return JSON.parse(r.stdout.trim()) as ClientResult;
}

async function init(pod: Pod, args: string[]): Promise<string> {
  const r = await pod.exec(meshlet('init', ...args), { timeoutMs: 30_000 });
  return r.stdout;
}

/** The nat table of both families as one variant sees it, minus the timestamp comments. */
async function natRules(pod: Pod, variant: Variant): Promise<string> {
  const strip = (s: string): string => s.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  const v4 = await pod.exec([`iptables-${variant}-save`, '-t', 'nat']);
  const v6 = await pod.exec([`ip6tables-${variant}-save`, '-t', 'nat']);
  return `${strip(v4.stdout)}\n${strip(v6.stdout)}`;
}

type Variant = 'nft' | 'legacy';
const other = (v: Variant): Variant => (v === 'nft' ? 'legacy' : 'nft');

for (const variant of ['nft', 'legacy'] as const) {
  describe(`transparent interception with iptables-${variant} (meshlet init + SO_ORIGINAL_DST)`, { timeout: 120_000 }, () => {
    let lab: NetnsLab;
    let a: Pod;
    let b: Pod;
    let agentReady: unknown;
    const initFlags = ['--exclude-inbound-ports', '9090', '--ipv6', 'on', '--iptables-mode', variant];

    before(async () => {
      lab = await NetnsLab.create();
      a = await lab.addPod('a', { ipv4: '10.244.0.10', ipv6: 'fd00:244::10' });
      b = await lab.addPod('b', { ipv4: '10.244.0.11', ipv6: 'fd00:244::11' });
      await b.ip(['addr', 'add', `${CLUSTER_IP}/32`, 'dev', 'lo']);
      await b.ip(['-6', 'addr', 'add', `${CLUSTER_IP6}/128`, 'dev', 'lo', 'nodad']);
      await a.ip(['route', 'add', '10.96.0.0/16', 'via', b.ipv4]);
      await a.ip(['-6', 'route', 'add', 'fd00:96::/112', 'via', b.ipv6!]);

      const servers = [
        b.spawn([NODE, fixture('tcp-server.ts'), '--name', 'b', '--port', '80', '--port', '8080']),
        a.spawn([NODE, fixture('tcp-server.ts'), '--name', 'a', '--port', '8080', '--port', '9090']),
      ];
      await Promise.all(servers.map((s) => s.waitForLine(/"ready":true/)));
      const out = await init(a, initFlags);
      assert.match(out, new RegExp(`ipv4 \\(iptables-${variant}\\): installed`));
      assert.match(out, new RegExp(`ipv6 \\(iptables-${variant}\\): installed`));
      const agent = a.spawn([NODE, fixture('agent-stand-in.ts'), '--uid', '1337']);
      agentReady = JSON.parse(await agent.waitForLine(/"ready":true/));
    });

    after(async () => {
      await lab?.destroy();
    });

    test('the agent binds as root, then runs as uid 1337', () => {
      assert.deepEqual(agentReady, { ready: true, uid: 1337, gid: 1337 });
    });

    test(`rules live in iptables-${variant} only, never in both`, async () => {
      assert.match(await natRules(a, variant), /-A OUTPUT -p tcp -j MESHLET_OUTPUT/);
      assert.doesNotMatch(await natRules(a, other(variant)), /MESHLET/);
    });

    test('outbound to an IPv4 ClusterIP arrives at 15001 with the original destination', async () => {
      const r = await connect(a, CLUSTER_IP, 80);
      assert.deepEqual(r.lines, [
        { via: 'outbound', dst: { address: CLUSTER_IP, port: 80, family: 'IPv4' }, uid: 1337 },
        { server: 'b', local: `${CLUSTER_IP}:80`, remote: a.ipv4 },
      ]);
    });

    test('outbound to an IPv6 ClusterIP arrives at 15001 with the original destination', async () => {
      const r = await connect(a, CLUSTER_IP6, 80);
      assert.deepEqual(r.lines, [
        { via: 'outbound', dst: { address: CLUSTER_IP6, port: 80, family: 'IPv6' }, uid: 1337 },
        { server: 'b', local: `${CLUSTER_IP6}:80`, remote: a.ipv6 },
      ]);
    });

    test('outbound to a pod IP is intercepted too (the agent decides what is a Service)', async () => {
      const r = await connect(a, b.ipv4, 8080);
      assert.deepEqual(r.lines?.[0], { via: 'outbound', dst: { address: b.ipv4, port: 8080, family: 'IPv4' }, uid: 1337 });
    });

    test('traffic from uid 1337 is not redirected', async () => {
      const r = await connect(a, CLUSTER_IP, 80, 1337);
      assert.deepEqual(r.lines, [{ server: 'b', local: `${CLUSTER_IP}:80`, remote: a.ipv4 }]);
    });

    test('loopback traffic is not redirected', async () => {
      assert.deepEqual((await connect(a, '127.0.0.1', 8080)).lines, [{ server: 'a', local: '127.0.0.1:8080', remote: '127.0.0.1' }]);
    });

    test('a direct connection to 15001 is reported as not redirected', async () => {
      assert.deepEqual((await connect(a, '127.0.0.1', 15001)).lines, [{ via: 'outbound', error: 'E_NOT_REDIRECTED' }]);
    });

    test('inbound to an app port arrives at 15006 with the original destination', async () => {
      for (const [host, family] of [[a.ipv4, 'IPv4'], [a.ipv6!, 'IPv6']] as const) {
        const r = await connect(b, host, 8080);
        assert.deepEqual(r.lines, [
          { via: 'inbound', dst: { address: host, port: 8080, family }, uid: 1337 },
          { server: 'a', local: '127.0.0.1:8080', remote: '127.0.0.1' },
        ], family);
      }
    });

    test('inbound to an excluded port and to the agent admin port is not redirected', async () => {
      assert.deepEqual((await connect(b, a.ipv4, 9090)).lines, [{ server: 'a', local: `${a.ipv4}:9090`, remote: b.ipv4 }]);
      assert.deepEqual((await connect(b, a.ipv4, 15020)).lines, [{ via: 'admin', uid: 1337 }]);
    });

    test('a second `meshlet init` changes nothing and does not fail', async () => {
      const before = await natRules(a, variant);
      assert.match(before, /MESHLET_OUTPUT/);
      // without --iptables-mode: auto detection must pick the variant that holds our chains
      const out = await init(a, initFlags.filter((f) => f !== '--iptables-mode' && f !== variant));
      assert.match(out, new RegExp(`ipv4 \\(iptables-${variant}\\): unchanged`));
      assert.match(out, new RegExp(`ipv6 \\(iptables-${variant}\\): unchanged`));
      assert.equal(await natRules(a, variant), before);
    });

    test('--cleanup removes every rule; traffic then flows directly', async () => {
      const out = await init(a, ['--cleanup', '--ipv6', 'on']);
      assert.match(out, new RegExp(`ipv4 \\(iptables-${variant}\\): removed`));
      assert.match(out, new RegExp(`ipv6 \\(iptables-${variant}\\): removed`));
      assert.doesNotMatch(await natRules(a, variant), /MESHLET/);
      assert.deepEqual((await connect(a, CLUSTER_IP, 80)).lines, [{ server: 'b', local: `${CLUSTER_IP}:80`, remote: a.ipv4 }]);
      assert.match(await init(a, ['--cleanup', '--ipv6', 'on']), /ipv4 \(iptables-\w+\): absent/);
    });
  });
}
