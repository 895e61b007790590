import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackPeer } from './sidecar.ts';

test('explicit mode serves only the pod itself: loopback peers (IPv4, IPv6, v4-mapped) and nothing else', () => {
  for (const a of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackPeer(a), true, a);
  for (const a of ['10.0.0.5', '::ffff:10.0.0.5', 'fe80::1', '', '1127.0.0.1', '::2']) assert.equal(isLoopbackPeer(a), false, a);
});
