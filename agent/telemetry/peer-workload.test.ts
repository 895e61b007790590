import { test } from 'node:test';
import assert from 'node:assert/strict';
import { announcedWorkload, markPeerWorkload, PEER_WORKLOAD_HEADER, startPeerWorkload, workloadFromPreamble, workloadPreamble } from './peer-workload.ts';

test('meshed mTLS hops carry this workload; others carry no such header, whatever the app sent', () => {
  const stop = startPeerWorkload({ name: 'reviews-v1', namespace: 'shop', pod: 'reviews-v1-7d9c8b6f4d-x2bqz', principal: '' });
  const cases: [string, boolean, Record<string, string>, string | undefined][] = [
    ['mTLS', true, {}, 'reviews-v1'],
    ['mTLS, the app claimed another workload', true, { [PEER_WORKLOAD_HEADER]: 'admin' }, 'reviews-v1'],
    ['plaintext, the app claimed one', false, { [PEER_WORKLOAD_HEADER]: 'admin' }, undefined],
    ['plaintext', false, { accept: '*/*' }, undefined],
  ];
  try {
    for (const [name, mtls, headers, want] of cases) {
      const h: Record<string, unknown> = { ...headers };
      markPeerWorkload(h, mtls);
      assert.equal(h[PEER_WORKLOAD_HEADER], want, name);
    }
  } finally {
    stop();
  }
  const after: Record<string, unknown> = { [PEER_WORKLOAD_HEADER]: 'admin' };
  markPeerWorkload(after, true);
  assert.equal(after[PEER_WORKLOAD_HEADER], undefined, 'stopped: nothing announced, and the app\'s claim still removed');
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
