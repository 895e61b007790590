import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CLUSTER_NETWORKS } from '../../api/pod-env.ts';
import { ClusterNetworksInvalidError, parseClusterNetworks } from './cluster-networks.ts';

describe('cluster networks', () => {
  const defaults = parseClusterNetworks(DEFAULT_CLUSTER_NETWORKS, 'test');

  test('the default ranges: private IPv4, shared space and IPv6 unique-local addresses are in; public and loopback are out', () => {
    const cases: [string, boolean][] = [
      ['10.0.0.1', true], ['10.255.255.255', true], ['10.96.0.10', true],
      ['100.64.0.1', true], ['100.127.255.254', true], ['100.128.0.1', false], ['100.63.255.255', false],
      ['172.16.0.1', true], ['172.31.255.255', true], ['172.32.0.1', false], ['172.15.255.255', false],
      ['192.168.1.1', true], ['192.169.0.1', false],
      ['8.8.8.8', false], ['1.1.1.1', false], ['127.0.0.1', false], ['11.0.0.1', false],
      ['fd00::1', true], ['fd12:3456::10', true], ['fdff:ffff::1', true], ['fc00::1', false], ['fe80::1', false],
      ['2001:db8::1', false], ['::1', false],
      // IPv4-mapped IPv6, as a dual-stack socket reports an IPv4 destination
      ['::ffff:10.1.2.3', true], ['::ffff:192.168.0.7', true], ['::ffff:8.8.8.8', false], ['::ffff:a01:203', true],
    ];
    for (const [address, inside] of cases) assert.equal(defaults.contains(address), inside, address);
  });

  test('a list or a comma-separated string; a bare address is one host; prefix bounds are exact', () => {
    const n = parseClusterNetworks(' 127.0.0.0/30 , 2001:db8::/127,192.0.2.7 ', 'test');
    assert.deepEqual(n.cidrs, ['127.0.0.0/30', '2001:db8::/127', '192.0.2.7']);
    const cases: [string, boolean][] = [
      ['127.0.0.1', true], ['127.0.0.3', true], ['127.0.0.4', false], ['::ffff:127.0.0.2', true],
      ['2001:db8::1', true], ['2001:db8::2', false],
      ['192.0.2.7', true], ['192.0.2.8', false], ['::ffff:192.0.2.7', true],
    ];
    for (const [address, inside] of cases) assert.equal(n.contains(address), inside, address);
    const all = parseClusterNetworks(['0.0.0.0/0', '::/0'], 'test');
    for (const a of ['8.8.8.8', '127.0.0.2', '2001:db8::1', '::ffff:1.2.3.4']) assert.equal(all.contains(a), true, a);
  });

  test('an excluded host inside a wider range stays outside the listed ranges', () => {
    // What the integration test relies on: 127.0.0.1 asked about, 127.0.0.2 passed through.
    const n = parseClusterNetworks('127.0.0.1/32', 'test');
    assert.equal(n.contains('127.0.0.1'), true);
    assert.equal(n.contains('127.0.0.2'), false);
  });

  test('bad input is a clear error naming where it came from, never a crash later', () => {
    const bad: [string | string[], RegExp][] = [
      ['', /no CIDR given.*0\.0\.0\.0\/0,::\/0/],
      [' , ', /no CIDR given/],
      [[], /no CIDR given/],
      ['10.0.0.0/33', /'10\.0\.0\.0\/33' is not a CIDR/],
      ['fd00::/129', /'fd00::\/129' is not a CIDR/],
      ['10.0.0/8', /is not a CIDR/],
      ['10.0.0.256/8', /is not a CIDR/],
      ['10.0.0.0/8/1', /is not a CIDR/],
      ['10.0.0.0/-1', /is not a CIDR/],
      ['10.0.0.0/', /is not a CIDR/],
      ['10.0.0.0/ 8', /is not a CIDR/],
      ['cluster.local', /is not a CIDR/],
      ['010.0.0.0/8', /is not a CIDR/],
      ['fe80::1%eth0/64', /is not a CIDR/],
      ['10.0.0.0/8,gggg::/8', /'gggg::\/8' is not a CIDR/],
    ];
    for (const [input, re] of bad) {
      assert.throws(() => parseClusterNetworks(input, '--cluster-networks'), (e: Error & { code?: string }) => {
        assert.ok(e instanceof ClusterNetworksInvalidError);
        assert.equal(e.code, 'E_CLUSTER_NETWORKS_INVALID');
        assert.match(e.message, /^--cluster-networks: /);
        assert.match(e.message, re);
        return true;
      }, JSON.stringify(input));
    }
  });
});
