import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referencedSecrets } from './secret-refs.ts';
import type { KubeObject } from '../../translate/snapshot.ts';

const gw = (ns: string, listeners: unknown[]): KubeObject => ({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'g', namespace: ns }, spec: { listeners } });

test('only core Secrets named by listener certificateRefs, defaulting to the Gateway namespace, deduplicated', () => {
  const refs = referencedSecrets([
    gw('edge', [
      { name: 'a', tls: { certificateRefs: [{ name: 'cert' }, { name: 'other', namespace: 'certs', kind: 'Secret', group: '' }] } },
      { name: 'b', tls: { certificateRefs: [{ name: 'cert' }, { name: 'cm', kind: 'ConfigMap' }, { name: 'x', group: 'example.com', kind: 'Secret' }] } },
      { name: 'plain' },
    ]),
    gw('shop', [{ name: 'c', tls: { mode: 'Terminate', certificateRefs: [{ name: 'cert' }] } }]),
  ]);
  assert.deepEqual(refs, [
    { namespace: 'certs', name: 'other' },
    { namespace: 'edge', name: 'cert' },
    { namespace: 'shop', name: 'cert' },
  ]);
});
