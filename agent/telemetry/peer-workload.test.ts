import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attemptStart, type AttemptEvent } from './events.ts';
import { announcedWorkload, PEER_WORKLOAD_HEADER, startPeerWorkload, workloadFromPreamble, workloadPreamble } from './peer-workload.ts';

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

test('the TCP preamble: one length byte and the name; announced only while started; names checked on arrival', () => {
  assert.deepEqual([...workloadPreamble('db-v1')], [5, 0x64, 0x62, 0x2d, 0x76, 0x31]);
  assert.throws(() => workloadPreamble('a'.repeat(254)), /longer than 253/);
  assert.equal(announcedWorkload(), null);
  const stop = startPeerWorkload({ name: 'reviews-v1', namespace: 'shop', pod: '', principal: '' });
  assert.equal(announcedWorkload(), 'reviews-v1');
  stop();
  assert.equal(announcedWorkload(), null);
  const bad = startPeerWorkload({ name: 'Not A Name', namespace: 'shop', pod: '', principal: '' });
  assert.equal(announcedWorkload(), null, 'a name a peer would refuse is not announced');
  bad();
  assert.deepEqual(['reviews-v1', '', 'Reviews', 'a/b', 'x'.repeat(254)].map(workloadFromPreamble), ['reviews-v1', null, null, null, null]);
});
