// Process plumbing for the network-namespace harness: run a command to completion with a bound
// on time, or start a long-lived one and wait (boundedly) for a line that says it is ready.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class CommandFailedError extends Error {
  constructor(argv: readonly string[], r: ExecResult) {
    super(`command failed (exit ${String(r.code)}): ${argv.join(' ')}\n${r.stderr.trim()}`);
  }
}

/** Runs argv; rejects on a non-zero exit unless allowFail; kills it after timeoutMs. */
export function execCommand(
  argv: readonly string[],
  opts: { timeoutMs?: number; input?: string; allowFail?: boolean } = {},
): Promise<ExecResult> {
  const [cmd = '', ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 15_000, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    child.on('error', (err) => reject(err));
    child.on('close', (code, signal) => {
      const r = { code, stdout, stderr: signal ? `${stderr}\n(killed by ${signal})` : stderr };
      if (code !== 0 && !opts.allowFail) reject(new CommandFailedError(argv, r));
      else resolve(r);
    });
  });
}

/** A long-lived process started by the harness; its output is kept for failure messages. */
export class LabProcess {
  readonly child: ChildProcess;
  readonly argv: readonly string[];
  stdout = '';
  stderr = '';
  #exited: Promise<void>;

  constructor(argv: readonly string[]) {
    const [cmd = '', ...args] = argv;
    this.argv = argv;
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.#exited = new Promise((resolve) => {
      this.child.once('close', () => resolve());
      this.child.once('error', () => resolve());
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first stdout or stderr line matching `re`; rejects on exit or after timeoutMs. */
  waitForLine(re: RegExp, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = [...this.stdout.split('\n'), ...this.stderr.split('\n')].find((l) => re.test(l));
        if (line === undefined) return false;
        done();
        resolve(line);
        return true;
      };
      const onExit = (): void => {
        if (check()) return;
        done();
        reject(new Error(`process exited before ${re}: ${this.argv.join(' ')}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re}: ${this.argv.join(' ')}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
      }, timeoutMs);
      const onData = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.child.stdout?.off('data', onData);
        this.child.stderr?.off('data', onData);
        this.child.off('close', onExit);
      };
      this.child.stdout?.on('data', onData);
      this.child.stderr?.on('data', onData);
      this.child.once('close', onExit);
      check();
    });
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  async stop(graceMs = 2_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
