// One running component (etcd, kube-apiserver, ...): its stdout and stderr go to <logsDir>/<name>.log,
// readiness is a caller-given probe polled within a bound, and stop() is SIGTERM, then SIGKILL
// after a grace period, so a wedged component cannot hang the test run.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ComponentStartError } from './errors.ts';

export interface ComponentSpec {
  name: string;
  bin: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** Waits until a (re)started component serves; each component module defines its own. */
export type Readiness = (p: ComponentProcess) => Promise<void>;

export class ComponentProcess {
  readonly name: string;
  readonly logPath: string;
  private readonly spec: ComponentSpec;
  private readonly logsDir: string;
  private readonly child: ChildProcess;
  private exitInfo: string | undefined;
  private readonly exited: Promise<void>;

  constructor(spec: ComponentSpec, logsDir: string) {
    this.name = spec.name;
    this.spec = spec;
    this.logsDir = logsDir;
    this.logPath = join(logsDir, `${spec.name}.log`);
    const fd = openSync(this.logPath, 'a');
    try {
      this.child = spawn(spec.bin, spec.args, { cwd: spec.cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...spec.env }, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
        resolve();
      });
      this.child.once('error', (err) => {
        this.exitInfo = `could not be spawned: ${err.message}`;
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Why the process ended, or undefined while it runs. */
  get exit(): string | undefined {
    return this.exitInfo;
  }

  /** Polls probe() until it returns true; fails fast if the process dies, and after timeoutMs. */
  async waitReady(what: string, probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      if (this.exitInfo !== undefined) throw new ComponentStartError(this.name, `${this.exitInfo} before ${what}`, this.logPath);
      try {
        if (await probe()) return;
        lastError = '';
      } catch (err) {
        lastError = `: last probe error: ${(err as Error).message}`;
      }
      await sleep(intervalMs);
    }
    throw new ComponentStartError(this.name, `not ${what} within ${timeoutMs} ms${lastError}`, this.logPath);
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone (or after a bound). */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exitInfo !== undefined || this.child.pid === undefined) return;
    this.child.kill('SIGTERM');
    if (await this.exitedWithin(graceMs)) return;
    this.child.kill('SIGKILL');
    await this.exitedWithin(5000);
  }

  /** The same command again (after stop()), appending to the same log: for restart faults. */
  respawn(): ComponentProcess {
    return new ComponentProcess(this.spec, this.logsDir);
  }

  /** Synchronous last resort for process 'exit' handlers, where nothing can be awaited. */
  killNow(): void {
    if (this.exitInfo === undefined && this.child.pid !== undefined) this.child.kill('SIGKILL');
  }

  private async exitedWithin(ms: number): Promise<boolean> {
    const ac = new AbortController();
    const done = await Promise.race([this.exited.then(() => true), sleep(ms, false, { signal: ac.signal }).catch(() => false)]);
    ac.abort();
    return done;
  }
}
