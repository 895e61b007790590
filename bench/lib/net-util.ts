// Loopback helpers: free ports (bind 0, read, close — a small race that is fine on a machine
// where the other users of loopback also ask for port 0) and a readiness probe that sends the
// benchmark's own request and checks the answer, so "started" means "serves what we measure".
import { createServer } from 'node:net';
import { openHttp1 } from './http1-conn.ts';
import { sleep } from './procs.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function probeOnce(port: number, request: Buffer, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve) => {
    const c = openHttp1('127.0.0.1', port);
    const t = setTimeout(() => { c.close(); resolve(0); }, timeoutMs);
    c.send(request, (status) => { clearTimeout(t); c.close(); resolve(status); });
  });
}

/** Polls until the request answers 200, or the deadline passes, or `gaveUp()` says stop. */
export async function waitReady(port: number, request: Buffer, deadlineMs: number, gaveUp: () => boolean = () => false): Promise<{ ok: boolean; lastStatus: number }> {
  const end = Date.now() + deadlineMs;
  let last = 0;
  while (Date.now() < end && !gaveUp()) {
    last = await probeOnce(port, request, 1000);
    if (last === 200) return { ok: true, lastStatus: last };
    await sleep(100);
  }
  return { ok: false, lastStatus: last };
}
