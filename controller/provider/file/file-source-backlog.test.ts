// Edits faster than the serving thread takes tables (here: while it is blocked) leave at most one
// table's text waiting in the source, whatever their number: the loop posts the next table only
// once the source has taken the last one, and a table superseded meanwhile is never sent. The
// last edit's table is the one that serves, as a fresh translation of the directory gives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoutingTable } from '../../../api/routing-table.ts';
import { buildSnapshot } from '../../translate/snapshot.ts';
import { translate } from '../../translate/index.ts';
import { FileTableSource } from './file-table-source.ts';
import { readManifests } from './read-manifests.ts';

const EDITS = 6;
/** How long the serving thread is held after each edit, so the worker reads each one alone. */
const HOLD_MS = 300;

function manifest(services: number): string {
  return Array.from({ length: services }, (_, i) => JSON.stringify({
    apiVersion: 'v1', kind: 'Service', metadata: { name: `s${i}`, namespace: 'shop' },
    spec: { clusterIP: `10.96.1.${i + 10}`, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  })).join('\n---\n');
}

const count = (t: RoutingTable | null): number => t?.services.length ?? 0;

test('edits made while the serving thread is busy leave one table waiting, and the last edit\'s table serves', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-fl2-backlog-'));
  const file = join(dir, 'shop.yaml');
  // A worker (not this thread's loop, which a blocked thread would block too), kept for the test.
  const source = new FileTableSource({ dir, log: () => undefined, recycleIdleMs: 0, inProcessBelowBytes: 0 });
  try {
    await writeFile(file, manifest(1));
    source.start();
    await source.ready();
    assert.equal(source.worker.running, true);
    assert.equal(count(source.current), 1);

    // Edits written as editors do (write, then rename), the thread held after each: the worker
    // reads and translates them while nothing here takes its messages.
    const hold = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 2; i <= EDITS + 1; i++) {
      writeFileSync(`${file}.tmp`, manifest(i));
      renameSync(`${file}.tmp`, file);
      Atomics.wait(hold, 0, 0, HOLD_MS);
    }

    // Released: watch the source's queue at every turn of the loop until the last edit serves.
    let most = source.pendingTables;
    const start = Date.now();
    for (let i = 0; i < 100_000 && count(source.current) !== EDITS + 1 && Date.now() - start < 20_000; i++) {
      most = Math.max(most, source.pendingTables);
      await new Promise((r) => setImmediate(r));
    }
    most = Math.max(most, source.pendingTables);
    assert.equal(count(source.current), EDITS + 1, 'the last edit\'s table serves');
    assert.ok(most <= 1, `tables waiting at most: ${most}`);
    const fresh = JSON.parse(JSON.stringify(translate(buildSnapshot((await readManifests(dir)).objects.map((o) => o.object)).snapshot).ir)) as RoutingTable;
    assert.deepEqual(source.current, fresh);

    // The loop still follows a later edit at its own pace.
    await writeFile(`${file}.tmp`, manifest(1));
    await rename(`${file}.tmp`, file);
    for (let i = 0; i < 1_000 && count(source.current) !== 1 && Date.now() - start < 40_000; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(count(source.current), 1);
  } finally {
    source.close();
    await rm(dir, { recursive: true, force: true });
  }
});
