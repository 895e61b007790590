// --stream-idle-timeout / $MESHLET_STREAM_IDLE_TIMEOUT: seconds to milliseconds, the flag over
// the variable, 0 allowed (off), anything else a usage error naming where it came from; with a
// warn callback (the agent's, at run time) a bad variable is reported and the default kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRequestTimeoutFlag, streamIdleTimeoutFlag } from './flags.ts';

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

test('a bad variable is reported with its name and the default kept; a bad flag stays an error; the flag wins over the variable', () => {
  for (const [read, name] of [[streamIdleTimeoutFlag, 'MESHLET_STREAM_IDLE_TIMEOUT'], [defaultRequestTimeoutFlag, 'MESHLET_DEFAULT_REQUEST_TIMEOUT']] as const) {
    const warnings: string[] = [];
    const warn = (m: string): void => {
      warnings.push(m);
    };
    assert.equal(read(undefined, '5m', warn), undefined, name);
    assert.equal(read(undefined, '-3', warn), undefined, name);
    assert.deepEqual(warnings, [
      `${name} wants a number of seconds (0: no ${name.includes('IDLE') ? 'stream idle timeout' : 'default timeout'}), got '5m'; keeping the default`,
      `${name} wants a number of seconds (0: no ${name.includes('IDLE') ? 'stream idle timeout' : 'default timeout'}), got '-3'; keeping the default`,
    ]);
    assert.equal(read('20', '5m', warn), 20_000, 'the flag wins, the variable is not even read');
    assert.equal(warnings.length, 2);
    assert.equal(read(undefined, '42', warn), 42_000);
    assert.throws(() => read('5m', undefined, warn), /^UsageError|wants a number of seconds/);
    assert.equal(warnings.length, 2, 'a bad flag is an error, not a warning');
  }
});
