// Process supervision for the benchmark: every process the harness starts is spawned pinned to
// a CPU list with taskset (which execs, so the pid we hold IS the measured process), tracked by
// pid, and stopped by pid — on normal completion, on Ctrl-C, and on failure. Nothing is ever
// stopped by name: the machine is shared with other work.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Started {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Last lines of stdout+stderr, for "not available" reasons and failure reports. */
  tail(): string;
  /** Everything it printed recently (bounded), e.g. wrk's report. */
  output(): string;
  exited(): boolean;
  /** Resolves when the process has exited. */
  whenExited: Promise<void>;
  stop(): Promise<void>;
}

const running = new Map<number, Started>();
let niceness = 0;

/**
 * --nice N: run the harness's processes at niceness N (negative = ahead of other work). Off by
 * default: on a shared machine it trades the neighbours' time for less noise in our figures.
 */
export function setNiceness(n: number): void {
  niceness = n;
}

export function startPinned(name: string, cpus: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): Started {
  // nice and taskset both exec, so the pid we get is still the measured program's own
  const argv = ['taskset', '-c', cpus, cmd, ...args];
  if (niceness !== 0) argv.unshift('nice', '-n', String(niceness));
  const child = spawn(argv[0]!, argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
  const pid = child.pid;
  let out = '';
  const keep = (b: Buffer): void => { out = (out + b.toString('utf8')).slice(-16000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let done = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { done = true; running.delete(pid); resolve(); }));
  child.once('error', (e) => { keep(Buffer.from(String(e))); });
  const started: Started = {
    name, pid, child,
    tail: () => out.trim().split('\n').slice(-12).join('\n'),
    output: () => out,
    exited: () => done,
    whenExited: exit,
    async stop() {
      if (done) return;
      try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
      const timer = setTimeout(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }, 6000);
      await exit;
      clearTimeout(timer);
    },
  };
  running.set(pid, started);
  return started;
}

/** Synchronous last-resort cleanup (process 'exit' cannot await): SIGKILL every tracked pid. */
function killAllNow(): void {
  for (const pid of running.keys()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running.values()].map((s) => s.stop()));
}

let installed = false;
/** Stops every started process on exit, Ctrl-C, SIGTERM and uncaught errors. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping ${running.size} process(es)\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
  process.on('uncaughtException', (e) => {
    process.stderr.write(`bench: ${e.stack ?? String(e)}\n`);
    void stopAll().finally(() => process.exit(1));
  });
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`bench: unhandled rejection: ${String(e)}\n`);
    void stopAll().finally(() => process.exit(1));
  });
}

/** Re-pins every thread of a running process (taskset -a -p), e.g. to move the upstream. */
export async function repin(pid: number, cpus: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const c = spawn('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    c.once('exit', (code) => code === 0 ? resolve() : reject(new Error(`taskset -p ${pid} exited ${code}`)));
    c.once('error', reject);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
