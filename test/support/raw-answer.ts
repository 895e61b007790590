// Reads one whole HTTP/1.1 answer with a Content-Length body from a raw socket, for tests that
// drive a connection byte by byte (pipelining, bodies sent after the head, half-written requests).
import type net from 'node:net';

export interface AnswerOptions {
  /** Bound on the wait (ms); default 5 000. */
  ms?: number;
  /** A close before a whole answer: resolve with what arrived (default) or reject. */
  onClose?: 'resolve' | 'reject';
}

/** The text of the next whole answer on `s` (head and its Content-Length body). */
export function readAnswer(s: net.Socket, opts: AnswerOptions = {}): Promise<string> {
  const ms = opts.ms ?? 5_000;
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => { done(); reject(new Error(`no answer within ${ms} ms; got ${JSON.stringify(text)}`)); }, ms);
    const onData = (b: Buffer): void => {
      text += b.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      if (m && text.length >= end + 4 + Number(m[1])) { done(); resolve(text); }
    };
    const onClose = (): void => {
      done();
      if (opts.onClose === 'reject') reject(new Error(`closed before a whole answer; got ${JSON.stringify(text)}`));
      else resolve(text);
    };
    const done = (): void => { clearTimeout(timer); s.off('data', onData); s.off('close', onClose); };
    s.on('data', onData);
    s.once('close', onClose);
  });
}

/** Writes `req` on `s` and reads the answer (readAnswer). */
export function exchangeRaw(s: net.Socket, req: string, opts: AnswerOptions = {}): Promise<string> {
  const answer = readAnswer(s, opts);
  s.write(req);
  return answer;
}
