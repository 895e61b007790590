// `npx node bench/prototypes/h1-raw-extras.ts [--seconds S]` (after bench/setup.sh): the two
// measurements of ADR 0017 the main runner takes only for meshlet configurations — CPU profiles
// (node --cpu-prof at 1000 rps, 12 B) of the raw-socket prototypes and the Node floor, and the
// 100 MB download/upload through two hops of each prototype against two chained nginx (RSS
// growth, throughput). Same layout as bench/run.ts: this process on CPU 0, proxies and the nginx
// upstream on CPU 1. Writes bench/results/<date>-<sha>-h1-raw-extras.json.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CONFIGS, PROTOTYPE_CONFIGS, type BenchConfig, type BenchContext } from '../lib/configs.ts';
import { buildRequest } from '../lib/http1-conn.ts';
import { SERVICE_HOST } from '../lib/meshlet.ts';
import { freePort, waitReady } from '../lib/net-util.ts';
import { installCleanup, repin, startPinned, stopAll } from '../lib/procs.ts';
import { profileMeshlet } from '../lib/profile-stage.ts';
import { pathFor, startUpstream } from '../lib/servers.ts';
import { NGINX_TWO_HOPS, measureStreaming } from '../lib/stream.ts';
import { collectVersions } from '../lib/versions.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCH = join(HERE, '..');

/** Two instances of a prototype chained: client → A → B → upstream. */
function chain(id: string, file: string, label: string): BenchConfig {
  return {
    id: `${id}-2hops`, label: `${label} → ${label}, 2 hops`, kind: 'prototype', hops: 2,
    async start(ctx: BenchContext) {
      const second = await freePort();
      const first = await freePort();
      const b = startPinned(`${id} hop 2`, ctx.proxyCpus, process.execPath, [join(HERE, file), '--port', String(second), '--upstream', String(ctx.upstreamPort)]);
      const a = startPinned(`${id} hop 1`, ctx.proxyCpus, process.execPath, [join(HERE, file), '--port', String(first), '--upstream', String(second)]);
      const stop = async (): Promise<void> => { await Promise.all([a.stop(), b.stop()]); };
      const r = await waitReady(first, ctx.probe, 10_000, () => a.exited() || b.exited());
      if (!r.ok) { await stop(); return { ok: false, reason: `${id} chain did not answer: ${a.tail()} ${b.tail()}` }; }
      return { ok: true, live: { port: first, procs: [a, b], stop } };
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
  installCleanup();
  await repin(process.pid, '0');
  const log = (s: string): void => { process.stdout.write(`${s}\n`); };
  const versions = collectVersions(join(BENCH, '..'), BENCH);
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-h1raw-'));
  chmodSync(dir, 0o755);
  const upstreamPort = await freePort();
  const upstream = startUpstream(dir, upstreamPort, '1');
  const probe = buildRequest(SERVICE_HOST, pathFor(12), 12);
  if (!(await waitReady(upstreamPort, probe, 10_000, () => upstream.exited())).ok) throw new Error(`upstream did not start: ${upstream.tail()}`);
  const ctx: BenchContext = { dir, root: join(BENCH, '..'), upstreamPort, proxyCpus: '1', probe };

  const profiled = [...CONFIGS, ...PROTOTYPE_CONFIGS].filter((c) => ['node-floor', 'proto-llhttp-native', 'proto-llhttp-wasm'].includes(c.id));
  log(`CPU profiles (node --cpu-prof, 1000 rps, 12 B, ${values.seconds} s):`);
  const profiles = await profileMeshlet(ctx, profiled, Number(values.seconds), join(BENCH, 'results', 'profiles'), `${new Date().toISOString().slice(0, 10)}-${versions.commit}`, log);

  const direct = CONFIGS.find((c) => c.id === 'direct')!;
  const streaming = await measureStreaming(ctx, [direct, NGINX_TWO_HOPS, chain('llhttp-native', 'llhttp-native.ts', 'llhttp native'), chain('llhttp-wasm', 'llhttp-wasm.ts', 'llhttp wasm'), chain('node-floor', 'node-http.ts', 'node:http floor')], log);
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
  const out = join(BENCH, 'results', `${new Date().toISOString().slice(0, 10)}-${versions.commit}-h1-raw-extras.json`);
  writeFileSync(out, `${JSON.stringify({ when: new Date().toISOString(), versions, profiles, streaming }, null, 2)}\n`);
  log(`wrote ${out}`);
}

await main();
