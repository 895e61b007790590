// Issue 15 item 5: a config reload must not stall traffic. 10 000 routes (a 9 MB manifest) froze
// every request of a file-mode agent for ~6 s on each edit, because reading, translating and
// validating ran on the thread that serves requests. While the 10 000 routes load and while one
// of them is edited, the agent's serving thread must never be held for 500 ms (the issue's
// bound), as the agent itself measures it (meshlet_event_loop_blocked_seconds: the thread's own
// CPU between two turns of its loop, which a busy machine cannot inflate), and a 50 rps probe
// must see no failed request. The probe's latency, which machine load does inflate (the probe,
// the echo server and the agent share 2 cores with other tests), is kept as a looser sanity bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoServer } from '../support/echo-server.ts';
import { fileAgentReady, spawnFileAgent, stopFileAgent, type FileAgent, bigManifest, loopStalls, maxMs, p99Ms, probe, rssMb, smallManifest, stallsBetween, until } from './reload-probe.ts';

const ROUTES = 10_000;
const BOUND_MS = 500;
const BOUND_LE = String(BOUND_MS / 1000); // the histogram bucket that bound is
// The probe's own sanity bound: a request held this long means something beyond machine load.
const PROBE_SANITY_MS = 3_000;
// With the routes removed again, the agent must have given back at least this share of what its
// RSS grew by (measured on a shared 2-core machine: 140 -> 958 -> 384 MB and 141 -> 1289 -> 423 MB,
// i.e. 70 to 75 % returned; the rest is the serving thread's heap and allocator, not the worker).
const RSS_RETURNED = 0.5;

test('10 000 routes load, and one of them is edited: the serving thread is never held for 500 ms and a 50 rps probe sees no failed request', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-h15b-reload-'));
  const echo = await startEchoServer({ pod: 'echo', namespace: 'shop' });
  let agent: FileAgent | null = null;
  let p: ReturnType<typeof probe> | null = null;
  try {
    await writeFile(join(dir, 'shop.yaml'), smallManifest(echo.port));
    agent = spawnFileAgent(dir);
    const { port, admin, pid, ok } = await fileAgentReady(agent);
    assert.ok(await ok('cart.shop'), agent.log());
    const rssBefore = await rssMb(pid);

    // Generated before the probe starts: building 9 MB of text here would stall the probe itself.
    const first = bigManifest(echo.port, 'first', ROUTES);
    const second = bigManifest(echo.port, 'second', ROUTES);
    const beforeLoad = await loopStalls(admin);
    p = probe(port, 50);
    await new Promise((r) => setTimeout(r, 500));
    await writeFile(join(dir, 'bench.yaml'), first);
    const loadMs = await until('10 000 routes applied', () => ok(`svc-${ROUTES - 1}.bench`), 120_000);
    await new Promise((r) => setTimeout(r, 500));
    const load = await p.stop();
    const loadStalls = stallsBetween(beforeLoad.blocked, (await loopStalls(admin)).blocked, BOUND_LE);
    const rssLoaded = await rssMb(pid);

    // An edit of one route in the big file: the whole directory is read and translated again.
    assert.ok(await ok('svc-0.bench', { 'x-bench': 'first' }), 'route 0 answers its first marker');
    assert.ok(!(await ok('svc-0.bench', { 'x-bench': 'second' })), 'and not the second yet');
    const beforeEdit = await loopStalls(admin);
    p = probe(port, 50);
    await new Promise((r) => setTimeout(r, 500));
    await writeFile(join(dir, 'bench.yaml'), second);
    const editMs = await until('the edit applied', () => ok('svc-0.bench', { 'x-bench': 'second' }), 120_000);
    await new Promise((r) => setTimeout(r, 500));
    const edit = await p.stop();
    const editStalls = stallsBetween(beforeEdit.blocked, (await loopStalls(admin)).blocked, BOUND_LE);
    await new Promise((r) => setTimeout(r, 2_000));
    const rssAfter = await rssMb(pid);

    // Bound memory (issue 15 item 5): with the 10 000 routes removed again, the agent's RSS comes
    // back towards where it started. The translation worker (its own V8 heap: the parsed manifests,
    // the YAML parser's and translator's garbage) is stopped once idle after a clean read (ADR
    // 0012); before that, RSS stayed at its peak for good (141 -> 773 -> 945 MB, and 900+ MB with
    // the routes gone).
    await rm(join(dir, 'bench.yaml'));
    await until('the 10 000 routes withdrawn', async () => !(await ok('svc-0.bench', { 'x-bench': 'second' })), 60_000);
    assert.ok(await ok('cart.shop'), 'the small directory still routes');
    let rssRemoved = Infinity;
    await until('RSS back near the start', async () => {
      rssRemoved = await rssMb(pid);
      return rssRemoved - rssBefore <= (1 - RSS_RETURNED) * (rssAfter - rssBefore);
    }, 45_000).catch(() => undefined);

    t.diagnostic(`load: ${load.latencies.length} probe requests over ${loadMs} ms, max ${maxMs(load.latencies)} ms, p99 ${p99Ms(load.latencies)} ms; serving thread held: worst ${loadStalls.worst}`);
    t.diagnostic(`edit: ${edit.latencies.length} probe requests over ${editMs} ms, max ${maxMs(edit.latencies)} ms, p99 ${p99Ms(edit.latencies)} ms; serving thread held: worst ${editStalls.worst}`);
    t.diagnostic(`agent RSS: ${rssBefore} MB before, ${rssLoaded} MB loaded, ${rssAfter} MB after the edit, ${rssRemoved} MB with the routes removed`);
    const logTail = agent.log().split('\n').slice(-20).join('\n');
    assert.deepEqual(load.failures, [], logTail);
    assert.deepEqual(edit.failures, [], logTail);
    assert.ok(load.latencies.length >= 20 && edit.latencies.length >= 20, 'the probe ran through both reloads');
    assert.equal(loadStalls.above, 0, `the serving thread was held for ${BOUND_MS} ms or more while 10 000 routes loaded (worst ${loadStalls.worst})`);
    assert.equal(editStalls.above, 0, `the serving thread was held for ${BOUND_MS} ms or more while the edit applied (worst ${editStalls.worst})`);
    assert.ok(maxMs(load.latencies) < PROBE_SANITY_MS, `slowest probe request while 10 000 routes loaded: ${maxMs(load.latencies)} ms`);
    assert.ok(maxMs(edit.latencies) < PROBE_SANITY_MS, `slowest probe request while the edit applied: ${maxMs(edit.latencies)} ms`);
    assert.ok(rssRemoved - rssBefore <= (1 - RSS_RETURNED) * (rssAfter - rssBefore), `RSS with the routes removed: ${rssRemoved} MB (before ${rssBefore} MB, after the edit ${rssAfter} MB)`);
  } finally {
    await p?.stop(); // a failed wait must not leave the probe running
    await stopFileAgent(agent);
    await echo.close();
    await rm(dir, { recursive: true, force: true });
  }
});
