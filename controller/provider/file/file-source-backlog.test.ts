// Edits faster than the serving thread takes tables (here: while it is blocked) leave at most one
// table's text waiting in the source, whatever their number: the loop posts the next table only
// once the source has taken the last one, and a table superseded meanwhile is never sent. The
// last edit's table is the one that serves, as a fresh translation of the directory gives it.
// The test proves the edits did pile up (the source counts the tables superseded in the loop):
// on a loaded machine the worker may read the edits of one hold together, so another round with
// longer holds follows, up to ROUNDS (bounded: ~13 s of holds at most).
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
/** How long the serving thread is held after each edit, so the worker reads each one alone (doubled each round). */
const HOLD_MS = 300;
/** Rounds of EDITS edits at most, until the loop has superseded a table. */
const ROUNDS = 3;

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

    let services = 1;
    for (let round = 0; round < ROUNDS && source.supersededTables === 0; round++) {
      // Edits written as editors do (write, then rename), the thread held after each: the worker
      // reads and translates them while nothing here takes its messages.
      const hold = new Int32Array(new SharedArrayBuffer(4));
      for (let i = 0; i < EDITS; i++) {
        writeFileSync(`${file}.tmp`, manifest(++services));
        renameSync(`${file}.tmp`, file);
        Atomics.wait(hold, 0, 0, HOLD_MS * 2 ** round);
      }

      // Released: watch the source's queue at every turn of the loop until the last edit serves.
      let most = source.pendingTables;
      const released = Date.now();
      for (let i = 0; i < 100_000 && count(source.current) !== services && Date.now() - released < 20_000; i++) {
        most = Math.max(most, source.pendingTables);
        await new Promise((r) => setImmediate(r));
      }
      most = Math.max(most, source.pendingTables);
      assert.equal(count(source.current), services, `round ${round}: the last edit's table serves`);
      assert.ok(most <= 1, `round ${round}: tables waiting at most: ${most}`);
    }
    // the backlog happened: a table translated while the thread was held was replaced unsent
    assert.ok(source.supersededTables > 0, `no table superseded in ${ROUNDS} rounds: the edits never piled up`);
    const fresh = JSON.parse(JSON.stringify(translate(buildSnapshot((await readManifests(dir)).objects.map((o) => o.object)).snapshot).ir)) as RoutingTable;
    assert.deepEqual(source.current, fresh);

    // The loop still follows a later edit at its own pace.
    await writeFile(`${file}.tmp`, manifest(1));
    await rename(`${file}.tmp`, file);
    const later = Date.now();
    for (let i = 0; i < 1_000 && count(source.current) !== 1 && Date.now() - later < 20_000; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(count(source.current), 1);
  } finally {
    source.close();
    await rm(dir, { recursive: true, force: true });
  }
});
