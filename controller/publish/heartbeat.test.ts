import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { WIRE_PATH } from '../../api/wire.ts';
import { Publisher } from './publisher.ts';

const open = (port: number, autoPong: boolean): Promise<WebSocket> => new Promise((resolve, reject) => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${WIRE_PATH}`, { autoPong });
  ws.once('open', () => resolve(ws));
  ws.once('error', reject);
});

test('heartbeat: pings are spread over the interval, not sent to every agent at once; an agent that stops answering is dropped', async () => {
  const heartbeatMs = 500;
  const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined, heartbeatMs, helloTimeoutMs: 10_000 });
  const sockets: WebSocket[] = [];
  try {
    for (let i = 0; i < 10; i++) sockets.push(await open(pub.port, true));
    const deaf = await open(pub.port, false);
    sockets.push(deaf);
    const firstPing = await Promise.all(sockets.slice(0, 10).map((ws) => new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ping within 3 heartbeat intervals')), 3 * heartbeatMs);
      ws.once('ping', () => {
        clearTimeout(timer);
        resolve(performance.now());
      });
    })));
    const spread = Math.max(...firstPing) - Math.min(...firstPing);
    assert.ok(spread >= heartbeatMs / 3, `the 10 agents' first pings came ${spread.toFixed(0)} ms apart at most (spread over the ${heartbeatMs} ms interval expected)`);
    const closed = await new Promise<boolean>((resolve) => {
      if (deaf.readyState === WebSocket.CLOSED) return resolve(true);
      const timer = setTimeout(() => resolve(false), 3 * heartbeatMs);
      deaf.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    assert.ok(closed, 'the agent that answers no ping is dropped within two intervals');
    assert.ok(sockets.slice(0, 10).every((ws) => ws.readyState === WebSocket.OPEN), 'the others stay');
  } finally {
    for (const ws of sockets) ws.terminate();
    await pub.close();
  }
});
