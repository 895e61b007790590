// Closed-loop "ping-pong" on one warm keep-alive connection: send, wait for the whole answer,
// send the next at once. With one request in flight nothing queues, so each sample is the
// time one request takes through the path — the quantity "added latency per hop" is about —
// without the open loop's scheduling noise (send lag, a pool of connections, backlogs). The
// generator spins (setImmediate) while a block runs, so libuv polls without sleeping and a
// response is read the moment it lands rather than after a wake-up of the generator itself.
import { openHttp1, type Http1Conn } from './http1-conn.ts';

export interface PingPongConn {
  host: string;
  port: number;
  conn: Http1Conn | null;
}

export interface BlockOutcome {
  /** Latencies of the 2xx/3xx answers, µs (hrtime, sub-µs resolution). */
  samples: number[];
  errors: number;
  /** Requests not sent because `stopAtMs` came first (not errors). */
  unsent: number;
}

const now = (): bigint => process.hrtime.bigint();

/**
 * `n` sequential requests on `target`'s connection (opened, or reopened after a failure, first).
 * Bounded in time: after `timeoutMs` the connection is closed and the requests not yet answered
 * count as errors. With `stopAtMs` (a Date.now() instant), no request is sent after it; the ones
 * left count as unsent (a warm-up bounded in time rather than in count). `onError` hears each
 * status that counted as an error (0: the connection failed).
 */
export function pingPongBlock(target: PingPongConn, request: Buffer, n: number, timeoutMs: number, stopAtMs = Infinity, onError?: (status: number) => void): Promise<BlockOutcome> {
  if (target.conn === null || !target.conn.alive()) target.conn = openHttp1(target.host, target.port);
  const conn = target.conn;
  const samples: number[] = [];
  let errors = 0;
  let left = n;
  let finished = false;
  return new Promise((resolve) => {
    const finish = (unsent = 0): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve({ samples, errors: errors + left - unsent, unsent });
    };
    const timer = setTimeout(() => { conn.close(); finish(); }, timeoutMs);
    const spin = (): void => { if (!finished) setImmediate(spin); };
    const one = (): void => {
      if (left === 0) { finish(); return; }
      if (!conn.alive()) { finish(); return; }
      if (Date.now() >= stopAtMs) { finish(left); return; }
      const sent = now();
      conn.send(request, (status) => {
        if (finished) return;
        const us = Number(now() - sent) / 1000;
        left--;
        if (status >= 200 && status < 400) samples.push(us);
        else {
          errors++;
          onError?.(status);
        }
        if (status === 0) { finish(); return; }
        one();
      });
    };
    spin();
    one();
  });
}

/** Closes a target's connection (end of the stage). */
export function closeTarget(target: PingPongConn): void {
  target.conn?.close();
  target.conn = null;
}
