import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EventLoopStalls } from './event-loop-stalls.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Observations above `le` seconds, from the histogram's text. */
function above(text: string, name: string, le: string): number {
  const total = Number(new RegExp(`^${name}_count (\\d+)$`, 'm').exec(text)?.[1]);
  const under = Number(new RegExp(`^${name}_bucket\\{le="${le.replace('.', '\\.')}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  assert.ok(Number.isFinite(total) && Number.isFinite(under), text);
  return total - under;
}

const cpuMs = (): number => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};

test('a task that holds the thread for 700 ms of CPU is counted as blocked and as delay, above 0.5 s', async () => {
  const s = new EventLoopStalls().start();
  try {
    await sleep(250);
    // 700 ms of this thread's CPU, not of wall time: on a busy machine a wall-time loop may get
    // a fraction of that CPU, and the point is what the thread itself did.
    const c0 = cpuMs();
    while (cpuMs() - c0 < 700) {
      // holding the event loop, as a synchronous reload would
    }
    await sleep(250);
    const text = s.metrics();
    assert.equal(above(text, 'meshlet_event_loop_blocked_seconds', '0.5'), 1, text);
    assert.equal(above(text, 'meshlet_event_loop_delay_seconds', '0.5'), 1, text);
    assert.match(text, /^# TYPE meshlet_event_loop_blocked_seconds histogram$/m);
    assert.match(text, /^meshlet_event_loop_blocked_seconds_bucket\{le="\+Inf"\} \d+$/m);
  } finally {
    s.stop();
  }
});

test('a synchronous wait of 700 ms without CPU (Atomics.wait, as a blocking call) also counts as held', async () => {
  const s = new EventLoopStalls().start();
  try {
    await sleep(250);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 700);
    await sleep(250);
    assert.equal(above(s.metrics(), 'meshlet_event_loop_blocked_seconds', '0.5'), 1, s.metrics());
  } finally {
    s.stop();
  }
});

test('a process kept off its CPU for ~900 ms by a real-time spinner (machine load) shows delay, not holding', async () => {
  const mod = fileURLToPath(new URL('./event-loop-stalls.ts', import.meta.url));
  // The child samples for ~2.5 s on CPU 0 and prints its histograms; meanwhile a SCHED_FIFO
  // process spins on the same CPU for 900 ms (under the kernel's 950 ms real-time budget), so the
  // child is runnable but not run, as under heavy load.
  const code = `import { EventLoopStalls } from ${JSON.stringify(mod)};
    const s = new EventLoopStalls().start(); process.stdout.write('started\\n');
    setTimeout(() => { process.stdout.write(s.metrics()); s.stop(); }, 2500);`;
  const child = spawn('taskset', ['-c', '0', process.execPath, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  const started = new Promise<void>((resolve) => child.stdout.on('data', (d: string) => {
    out += d;
    if (out.includes('started')) resolve();
  }));
  const exited = new Promise((r) => child.once('exit', r));
  let spinner: ReturnType<typeof spawn> | null = null;
  try {
    await started;
    spinner = spawn('chrt', ['-f', '10', 'taskset', '-c', '0', process.execPath, '-e', 'const t = Date.now(); while (Date.now() - t < 900);'], { stdio: 'inherit' });
    const spun = await new Promise((r) => spinner!.once('exit', r));
    assert.equal(spun, 0, 'the real-time spinner ran');
    await exited;
    assert.ok(above(out, 'meshlet_event_loop_delay_seconds', '0.5') >= 1, out);
    assert.equal(above(out, 'meshlet_event_loop_blocked_seconds', '0.25'), 0, out);
  } finally {
    for (const c of [child, spinner]) if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
});
