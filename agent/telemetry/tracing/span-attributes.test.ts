// server.address and server.port of an authority: read by index (authorityHostEnd,
// authorityPort) instead of the regular expression that defined them before; the table holds the
// two to the same answer, including the authorities the regex reads only by backtracking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorityHostEnd, hostPort } from './span-attributes.ts';

// The definition hostPort had (and the encoder's bytes followed).
const HOST_PORT = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/;
function byRegex(authority: string, scheme: string): { host: string; port: number } {
  const m = HOST_PORT.exec(authority);
  if (!m) return { host: authority, port: scheme === 'https' ? 443 : 80 };
  return { host: m[1]!, port: m[2] ? Number(m[2]) : scheme === 'https' ? 443 : 80 };
}

test('hostPort reads every authority as the regular expression did', () => {
  const authorities = [
    'reviews:9080', 'reviews', 'reviews.default.svc.cluster.local:80', '10.0.0.7:9080', '[fd00::1]:8443', '[fd00::1]', '[::1]:0',
    'odd:port:here', 'host:', ':80', '', '[]:80', '[]', '[fd00::1', '[fd00::1]x', '[fd00::1]:x', '[a]b:80', 'host:0080', 'host:8a',
    `host:${'9'.repeat(20)}`, 'host:123456789012345', 'café:80', 'host:８０', '[a]]:80', 'a[b]:80',
  ];
  for (const a of authorities) {
    for (const scheme of ['http', 'https']) {
      assert.deepEqual(hostPort(a, scheme), byRegex(a, scheme), `${JSON.stringify(a)} ${scheme}`);
      assert.equal(authorityHostEnd(a) >= 0, HOST_PORT.test(a), `${JSON.stringify(a)} matches`);
    }
  }
});
