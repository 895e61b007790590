// The general path's keep-alive race (ADR 0024): which failures are resent, a table over `raced`.
// The resends themselves run through real proxies in test/integration/reused-connection-race.test.ts;
// the never-written case (an idle connection reset while undici's one-turn check holds a request)
// is timing-bound and shown by bench/prototypes/keep-alive-race.ts (rst/pair/general).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { newWriteNote, raced, type WriteNote } from './reused-connection.ts';

describe('raced: what the general path resends', () => {
  const socket = (bytesRead: number): net.Socket => ({ bytesRead }) as net.Socket;
  const note = (n: Partial<WriteNote>): WriteNote => ({ ...newWriteNote(), ...n });
  const lost = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  const live = new AbortController().signal;
  const cases: [string, WriteNote, string, unknown, AbortSignal, boolean][] = [
    ['GET written on a reused connection, lost before any byte', note({ written: true, reused: true, socket: socket(10), readBefore: 10 }), 'GET', lost, live, true],
    ['DELETE, reset', note({ written: true, reused: true, socket: socket(10), readBefore: 10 }), 'DELETE', reset, live, true],
    ['POST written on a reused connection: the app may have read it', note({ written: true, reused: true, socket: socket(10), readBefore: 10 }), 'POST', lost, live, false],
    ['GET on a fresh connection', note({ written: true, reused: false, socket: socket(0), readBefore: 0 }), 'GET', lost, live, false],
    ['GET after a response byte', note({ written: true, reused: true, socket: socket(11), readBefore: 10 }), 'GET', lost, live, false],
    ['POST never written (its idle connection reset while it waited)', note({ written: false }), 'POST', reset, live, true],
    ['a timeout or another error', note({ written: false }), 'GET', Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), live, false],
    ['the attempt was aborted', note({ written: true, reused: true, socket: socket(1), readBefore: 1 }), 'GET', lost, AbortSignal.abort(), false],
  ];
  for (const [name, n, method, err, signal, want] of cases) {
    test(`${name}: ${want ? 'resent' : 'not resent'}`, () => assert.equal(raced(n, method, err, signal), want));
  }
});
