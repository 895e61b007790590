import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attemptStart, type AttemptEvent } from './events.ts';
import { PEER_WORKLOAD_HEADER, startPeerWorkload } from './peer-workload.ts';

function attempt(identity: string | null, headers: Record<string, string | string[]>): AttemptEvent {
  return {
    request: null, attempt: 1, mirror: false, backend: 'service/shop/ratings/9080', upstream: '10.0.0.7:9080', upstreamIdentity: identity,
    method: 'GET', authority: 'ratings:9080', pathAndQuery: '/', headers, startNs: 0n, status: 0, endNs: 0n, error: null,
  };
}

test('attempts to meshed endpoints carry this workload; others carry no such header, whatever the app sent', () => {
  const stop = startPeerWorkload({ name: 'reviews-v1', namespace: 'shop', pod: 'reviews-v1-7d9c8b6f4d-x2bqz', principal: '' });
  try {
    const cases: [string, string | null, Record<string, string>, string | undefined][] = [
      ['meshed', 'spiffe://cluster.local/ns/shop/sa/ratings', {}, 'reviews-v1'],
      ['meshed, the app claimed another workload', 'spiffe://cluster.local/ns/shop/sa/ratings', { [PEER_WORKLOAD_HEADER]: 'admin' }, 'reviews-v1'],
      ['outside the mesh, the app claimed one', null, { [PEER_WORKLOAD_HEADER]: 'admin' }, undefined],
      ['outside the mesh', null, { accept: '*/*' }, undefined],
    ];
    for (const [name, identity, headers, want] of cases) {
      const at = attempt(identity, { ...headers });
      attemptStart.publish(at);
      assert.equal(at.headers[PEER_WORKLOAD_HEADER], want, name);
    }
  } finally {
    stop();
  }
  const after = attempt('spiffe://cluster.local/ns/shop/sa/ratings', {});
  attemptStart.publish(after);
  assert.equal(after.headers[PEER_WORKLOAD_HEADER], undefined, 'stopped: no longer tagged');
});
