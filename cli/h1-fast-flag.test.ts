// `--h1-fast` / `--no-h1-fast` as the agent and ingress commands read them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { h1FastFlag } from './flags.ts';
import { UsageError } from './usage-error.ts';

test('--no-h1-fast turns the fast path off, --h1-fast on, neither leaves it to $MESHLET_H1_FAST, both is an error', () => {
  assert.equal(h1FastFlag({}), undefined);
  assert.equal(h1FastFlag({ 'h1-fast': true }), true);
  assert.equal(h1FastFlag({ 'no-h1-fast': true }), false);
  assert.throws(() => h1FastFlag({ 'h1-fast': true, 'no-h1-fast': true }), (e: unknown) => e instanceof UsageError && /contradict/.test(e.message));
});
