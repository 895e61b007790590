import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRunners, type Runner } from './runner.ts';

function recorder(events: string[], name: string, failStart = false, failStop = false): Runner {
  return {
    name,
    start: () => {
      events.push(`start ${name}`);
      return failStart ? Promise.reject(new Error(`${name} cannot bind`)) : Promise.resolve();
    },
    stop: () => {
      events.push(`stop ${name}`);
      return failStop ? Promise.reject(new Error('stuck')) : Promise.resolve();
    },
  };
}

test('runners start in order and stop in reverse, once however often stop is called', async () => {
  const events: string[] = [];
  const running = await startRunners([recorder(events, 'publisher'), recorder(events, 'translation'), recorder(events, 'admin')], () => undefined);
  await Promise.all([running.stop(), running.stop()]);
  assert.deepEqual(events, ['start publisher', 'start translation', 'start admin', 'stop admin', 'stop translation', 'stop publisher']);
});

test('a runner that fails to start stops those already started and the error reaches the caller', async () => {
  const events: string[] = [];
  const logs: string[] = [];
  await assert.rejects(
    startRunners([recorder(events, 'publisher'), recorder(events, 'webhook', true), recorder(events, 'admin')], (l) => logs.push(l)),
    /webhook cannot bind/,
  );
  assert.deepEqual(events, ['start publisher', 'start webhook', 'stop publisher']);
  assert.match(logs.join('\n'), /webhook: failed to start/);
});

test('one runner failing to stop does not keep the others running', async () => {
  const events: string[] = [];
  const logs: string[] = [];
  const running = await startRunners([recorder(events, 'a'), recorder(events, 'b', false, true), recorder(events, 'c')], (l) => logs.push(l));
  await running.stop();
  assert.deepEqual(events.slice(3), ['stop c', 'stop b', 'stop a']);
  assert.match(logs.join('\n'), /b: stop failed: stuck/);
});
