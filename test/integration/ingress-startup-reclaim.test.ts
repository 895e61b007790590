// Issue 16 / ADR 0023: an idle `meshlet ingress` gives back what its start left (compile garbage,
// the first table's decoding, a young generation grown while the modules loaded) with the same
// one collection and malloc trim the agent runs once its start has settled
// (agent/lifecycle/startup-reclaim.ts, STARTUP_RECLAIM_MS after the start). Before, only the agent
// scheduled it, and an idle ingress stayed ~7 MB above an idle agent for as long as it ran.
// The real binary, idle, past that delay: it logs the reclaim and its RSS went down. The delay
// is the ingress's --startup-reclaim-seconds (default STARTUP_RECLAIM_MS, 40 s), 2 s here, so the
// test waits seconds, not the production delay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/free-port.ts';
import { STARTUP_RECLAIM_MS } from '../../agent/lifecycle/startup-reclaim.ts';

const bin = fileURLToPath(new URL('../../bin/meshlet.js', import.meta.url));
const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
const DELAY_S = 2;

test('an idle ingress runs the start-up reclaim once and its RSS goes down', { timeout: DELAY_S * 1000 + 90_000 }, async () => {
  const [base, admin] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [bin, 'ingress', '--config', examples, '--host', '127.0.0.1',
    '--port-offset', String(base - 80), '--admin-port', String(admin), '--drain-seconds', '0', '--startup-reclaim-seconds', String(DELAY_S)],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    // Bounded: the reclaim's delay plus a margin for a loaded machine, polled every 250 ms.
    const deadline = Date.now() + DELAY_S * 1000 + 75_000;
    while (!/heap reclaim(ed)? after start/.test(stderr) && child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  assert.match(stderr, /listening on 127\.0\.0\.1/, `the ingress did not start: ${stderr.slice(-500)}`);
  const line = /heap reclaimed after start: heap (\d+) -> (\d+) MB, RSS (\d+) -> (\d+) MB/.exec(stderr);
  assert.ok(line, `no start-up reclaim logged: ${stderr.slice(-500)}`);
  const [rssBefore, rssAfter] = [Number(line[3]), Number(line[4])];
  assert.ok(rssAfter < rssBefore, `RSS ${rssBefore} -> ${rssAfter} MB`);
  assert.equal(stderr.match(/heap reclaimed after start/g)?.length, 1, 'once per process');
});

test('a bad --startup-reclaim-seconds is a usage error, and the default is the production delay', async () => {
  const child = spawn(process.execPath, [bin, 'ingress', '--config', examples, '--startup-reclaim-seconds', 'soon'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  // bounded: a regression that let the ingress start with the bad value would otherwise hang the run
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, sig) => r([c, sig])));
  clearTimeout(killer);
  assert.equal(signal, null, 'it exited by itself (not killed after 15 s: it started with a bad value)');
  assert.notEqual(code, 0);
  assert.match(stderr, /--startup-reclaim-seconds wants a number of seconds, got 'soon'/);
  const { ingressCommand } = await import('../../cli/ingress-command.ts');
  assert.match(ingressCommand.help, new RegExp(`default ${STARTUP_RECLAIM_MS / 1000}; 0: never`));
});
