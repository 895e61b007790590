// Who decides whether HTTP/1.1 takes the fast path: the composition's option first, then
// MESHLET_H1_FAST (on unless `0`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastPathWanted } from './downstream-switch.ts';
import { llhttpAvailable } from './llhttp.ts';

test('the option wins; without it the fast path is on unless MESHLET_H1_FAST=0', () => {
  assert.ok(llhttpAvailable(), 'the pinned Node has the binding');
  const cases: [boolean | undefined, string | undefined, boolean][] = [
    [undefined, undefined, true],
    [undefined, '1', true],
    [undefined, '', true],
    [undefined, '0', false],
    [true, '0', true],
    [false, undefined, false],
    [false, '1', false],
  ];
  for (const [option, env, want] of cases) assert.equal(fastPathWanted(option, env), want, `option ${option}, env ${env}`);
});
