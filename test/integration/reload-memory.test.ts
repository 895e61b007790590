// Issue 15 item 5, "bound memory": after 10 000 routes are removed again, a file-mode agent gives
// the memory back. Two holders had it: the translation worker (recycled when idle, ADR 0012) and
// the serving thread's V8 heap, where the dropped table stayed as garbage in ~200 MB of
// committed heap for as long as traffic flowed (V8's memory reducer waits for an allocation rate
// under ~1 MB/s, which a proxy under traffic never has). The HeapReclaimer (ADR 0016) runs one
// memory-reducing GC 5 s after such a drop. A 50 rps probe runs throughout and must see no
// failure, and the agent's own serving thread must not have been held for 500 ms or more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { parsePrometheus } from '../support/prometheus-text.ts';
import { fileAgentReady, spawnFileAgent, stopFileAgent, type FileAgent, bigManifest, loopStalls, maxMs, probe, rssMb, smallManifest, stallsBetween, until } from './reload-probe.ts';

const ROUTES = 10_000;
// RSS with the routes removed, over the agent's RSS before they came (ADR 0016, shared 2-core
// machine, load average 6-15): -4 to +82 MB at the first reading under the bound with the reclaim
// (the worker's isolate is torn down some seconds after it stops), +188 to +197 MB without it (the
// worker already recycled), so 120 MB separates the two with room for a busy machine.
const RSS_SLACK_MB = 120;
// The worker recycles 10 s after its last clean read and the reclaim runs 5 s after the drop;
// teardown of a terminated isolate takes some seconds more on a busy machine.
const RETURN_WITHIN_MS = 60_000;

test('10 000 routes loaded and removed again: the agent\'s RSS comes back within 120 MB of its start, with no failed request and no 500 ms stall', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-g15-reload-memory-'));
  const echo = await startEchoServer({ pod: 'echo', namespace: 'shop' });
  let agent: FileAgent | null = null;
  let p: ReturnType<typeof probe> | null = null;
  try {
    await writeFile(join(dir, 'shop.yaml'), smallManifest(echo.port));
    // Ahead of the rest of the machine: the held-thread figure below is about the reload, and at
    // load 25–30 the agent's starved GC helpers held its thread 0.5–1 s in 2 of 8 runs otherwise.
    agent = spawnFileAgent(dir, { nice: -10 });
    const { port, admin, pid, ok } = await fileAgentReady(agent);
    assert.ok(await ok('cart.shop'), agent.log());
    await new Promise((r) => setTimeout(r, 1_000)); // start-up garbage settles before the baseline
    const rssStart = await rssMb(pid);

    const text = bigManifest(echo.port, 'initial', ROUTES);
    const stallsBefore = await loopStalls(admin);
    p = probe(port, 50);
    await writeFile(join(dir, 'bench.yaml'), text);
    // A deadline, not a figure under test: at load average ~21 the apply took over 90 s (as in
    // reload-under-traffic.test.ts, which allows 120 s for the same 10 000 routes).
    await until('10 000 routes applied', () => ok(`svc-${ROUTES - 1}.bench`), 120_000);
    const rssLoaded = await rssMb(pid);
    await rm(join(dir, 'bench.yaml'));
    await until('the 10 000 routes withdrawn', async () => !(await ok('svc-0.bench')), 60_000);
    let rssNow = Infinity;
    const returnedMs = await until('RSS back near the start', async () => {
      rssNow = await rssMb(pid);
      return rssNow <= rssStart + RSS_SLACK_MB;
    }, RETURN_WITHIN_MS).catch(() => -1);
    const result = await p.stop();
    p = null;
    const stallsAfter = await loopStalls(admin);
    const metrics = parsePrometheus((await send({ port: admin, path: '/metrics' })).text);
    const reclaims = metrics.find((m) => m.name === 'meshlet_heap_reclaims_total')?.value;
    const pause = metrics.find((m) => m.name === 'meshlet_heap_reclaim_pause_seconds_total')?.value;
    const blocked = stallsBetween(stallsBefore.blocked, stallsAfter.blocked, '0.5');
    const delay = stallsBetween(stallsBefore.delay, stallsAfter.delay, '0.5');

    t.diagnostic(`agent RSS: ${rssStart} MB at start, ${rssLoaded} MB loaded, ${rssNow} MB ${returnedMs >= 0 ? `${returnedMs} ms` : 'not'} after the removal applied`);
    t.diagnostic(`heap reclaims: ${reclaims}, pause ${pause === undefined ? '?' : Math.round(pause * 1000)} ms; serving thread held: worst ${blocked.worst}; timer late: worst ${delay.worst}; probe: ${result.latencies.length} requests, max ${maxMs(result.latencies)} ms`);
    assert.deepEqual(result.failures, [], agent.log().split('\n').slice(-20).join('\n'));
    assert.ok(result.latencies.length >= 100, 'the probe ran throughout');
    assert.ok(returnedMs >= 0, `RSS with the routes removed: ${rssNow} MB, started at ${rssStart} MB (bound +${RSS_SLACK_MB} MB within ${RETURN_WITHIN_MS} ms)`);
    assert.equal(reclaims, 1, 'one memory-reducing GC, after the drop');
    assert.equal(blocked.above, 0, `the serving thread was held for more than 0.5 s (worst ${blocked.worst})`);
  } finally {
    await p?.stop();
    await stopFileAgent(agent);
    await echo.close();
    await rm(dir, { recursive: true, force: true });
  }
});
