// Captures a command's stdout/stderr for tests of the CLI.
import { PassThrough } from 'node:stream';
import type { Io } from './command.ts';

export interface CapturedIo extends Io {
  out(): string;
  err(): string;
  stop(signal?: string): void;
}

export function captureIo(): CapturedIo {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => { o += c.toString(); });
  stderr.on('data', (c: Buffer) => { e += c.toString(); });
  let stop: (s: string) => void = () => {};
  const stopSignal = new Promise<string>((resolve) => { stop = resolve; });
  return { stdout, stderr, stopSignal, out: () => o, err: () => e, stop: (s = 'SIGINT') => stop(s) };
}
