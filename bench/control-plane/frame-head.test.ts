import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage, type ControllerMessage } from '../../api/wire.ts';
import { tableVersion } from './frame-head.ts';

const empty = { upsert: [], remove: [] };
const changes = { gateways: empty, services: empty, backends: empty, secrets: empty, policies: empty };
const table = { apiVersion: 'meshlet.dev/v1alpha1', version: 'abc', gateways: [], services: [], backends: [], secrets: [], policies: [] };

test('the version of an update or patch, as encodeMessage writes them; null for every other frame', () => {
  const cases: [string, Buffer, string | null][] = [
    ['update', Buffer.from(encodeMessage({ type: 'update', version: '0123456789abcdef', table } as unknown as ControllerMessage)), '0123456789abcdef'],
    ['patch', Buffer.from(encodeMessage({ type: 'patch', version: 'v2', base: 'v1', changes } as unknown as ControllerMessage)), 'v2'],
    ['a version of 128 characters', Buffer.from(`{"type":"patch","version":"${'x'.repeat(128)}","base":"a","changes":{}}`), 'x'.repeat(128)],
    ['a version of 129 characters', Buffer.from(`{"type":"patch","version":"${'x'.repeat(129)}","base":"a","changes":{}}`), null],
    ['an escaped quote in the version', Buffer.from('{"type":"patch","version":"a\\"b","base":"a","changes":{}}'), null],
    ['another order', Buffer.from('{"version":"v2","type":"patch","base":"a","changes":{}}'), null],
    ['spaces', Buffer.from('{ "type": "patch", "version": "v2" }'), null],
    ['welcome', Buffer.from(encodeMessage({ type: 'welcome', protocol: 1, controller: 'c' } as unknown as ControllerMessage)), null],
    ['ping', Buffer.from('{"type":"ping","nonce":1}'), null],
    ['empty', Buffer.alloc(0), null],
  ];
  for (const [name, frame, want] of cases) assert.equal(tableVersion(frame), want, name);
});
