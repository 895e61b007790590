// `npm --prefix bench run hostile [-- --quick] [-- --only id,id]`: the hostile-load scenario
// (issue 15). For each proxy (nginx, haproxy, the plain node:http proxy, meshlet ingress), a
// baseline and each attack that applies (lib/hostile.ts): p99 of a well-behaved client at a
// fixed rate during the attack, its failed requests, and the proxy's RSS. Same layout as run.ts:
// generator (and the attackers) on CPU 0, proxy and upstream on CPU 1. Writes
// bench/results/<date>-<sha>-hostile.json and prints a table; the machine is shared, so figures
// are only comparable within one run.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CONFIGS, type BenchConfig, type BenchContext } from './lib/configs.ts';
import { buildRequest } from './lib/http1-conn.ts';
import { ATTACKS, measureHostile, type AttackId, type HostileResult } from './lib/hostile.ts';
import { SERVICE_HOST } from './lib/meshlet.ts';
import { freePort, waitReady } from './lib/net-util.ts';
import { installCleanup, repin, stopAll } from './lib/procs.ts';
import { pathFor, startUpstream } from './lib/servers.ts';
import { collectVersions } from './lib/versions.ts';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });

/** Which attacks a configuration can be subjected to: rapid reset needs h2c on the port. */
const H2C = new Set(['meshlet-ingress', 'haproxy']);
const applies = (cfg: BenchConfig, a: AttackId): boolean => a !== 'rapid-reset' || H2C.has(cfg.id);

async function main(): Promise<void> {
  installCleanup();
  await repin(process.pid, '0');
  const log = (s: string): void => { process.stdout.write(`${s}\n`); };
  const durationMs = values.quick ? 3_000 : 10_000;
  const rampMs = values.quick ? 1_000 : 3_000;
  const rate = 200;
  const pool = CONFIGS.filter((c) => ['nginx', 'haproxy', 'node-floor', 'meshlet-ingress'].includes(c.id));
  const only = values.only?.split(',');
  const configs = only ? pool.filter((c) => only.includes(c.id)) : pool;
  const versions = collectVersions(ROOT, BENCH);
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-hostile-'));
  chmodSync(dir, 0o755);
  const upstreamPort = await freePort();
  const upstream = startUpstream(dir, upstreamPort, '1');
  const probe = buildRequest(SERVICE_HOST, pathFor(12), 12);
  if (!(await waitReady(upstreamPort, probe, 10_000, () => upstream.exited())).ok) throw new Error(`upstream did not start: ${upstream.tail()}`);
  const ctx: BenchContext = { dir, root: ROOT, upstreamPort, proxyCpus: '1', probe };
  log(`meshlet hostile-load bench (${values.quick ? 'quick' : 'full'}): well-behaved client at ${rate} rps for ${durationMs / 1000} s per cell; commit ${versions.commit}${versions.commitDirty ? '+dirty' : ''}`);
  const results: HostileResult[] = [];
  const unavailable: Record<string, string> = {};
  for (const cfg of configs) {
    for (const attack of ATTACKS) {
      if (!applies(cfg, attack)) continue;
      // A fresh proxy per attack: what one attack left behind must not count against the next.
      const s = await cfg.start(ctx);
      if (!s.ok) {
        unavailable[cfg.id] = s.reason;
        log(`  ${cfg.label}: not available: ${s.reason}`);
        break;
      }
      try {
        const r = await measureHostile({ config: cfg.id, live: s.live, attack, host: SERVICE_HOST, request: probe, rate, durationMs, rampMs });
        results.push(r);
        log(`  ${cfg.id.padEnd(16)} ${attack.padEnd(13)} p99 ${r.p99Ms.toFixed(1).padStart(8)} ms  ok ${r.ok} err ${r.errors}  RSS ${r.rssMB} MB  ${r.attackerNote}`);
      } finally {
        await s.live.stop();
      }
    }
  }
  await stopAll();
  const out = join(BENCH, 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `${new Date().toISOString().slice(0, 10)}-${versions.commit}-hostile${only ? '-partial' : ''}.json`);
  writeFileSync(file, `${JSON.stringify({ schema: 1, date: new Date().toISOString(), quick: values.quick, rate, durationMs, rampMs, versions, sharedMachine: true, unavailable, results }, null, 1)}\n`);
  log(`wrote ${file}`);
  rmSync(dir, { recursive: true, force: true });
}

await main().catch(async (e: unknown) => {
  process.stderr.write(`hostile bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  await stopAll();
  process.exitCode = 1;
});
