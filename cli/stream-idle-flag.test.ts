// --stream-idle-timeout / $MESHLET_STREAM_IDLE_TIMEOUT: seconds to milliseconds, the flag over
// the variable, 0 allowed (off), anything else a usage error naming where it came from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { streamIdleTimeoutFlag } from './flags.ts';

test('stream idle timeout flag', () => {
  const cases: [string | undefined, string | undefined, number | undefined][] = [
    [undefined, undefined, undefined],
    [undefined, '', undefined],
    ['60', undefined, 60_000],
    [undefined, '0.5', 500],
    ['0', '30', 0],
  ];
  for (const [flag, env, want] of cases) assert.equal(streamIdleTimeoutFlag(flag, env), want, `${flag} / ${env}`);
  assert.throws(() => streamIdleTimeoutFlag('soon', undefined), /--stream-idle-timeout wants a number of seconds/);
  assert.throws(() => streamIdleTimeoutFlag(undefined, '-1'), /MESHLET_STREAM_IDLE_TIMEOUT wants/);
});
