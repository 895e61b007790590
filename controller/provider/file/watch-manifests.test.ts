import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchManifests } from './watch-manifests.ts';
import type { ReadResult } from './read-manifests.ts';

/** Resolves with the next result whose names equal `want`, or rejects after `ms`. */
function nextResult(results: ReadResult[], want: string[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      const last = results.at(-1);
      if (last && JSON.stringify(last.objects.map((o) => o.object.metadata.name)) === JSON.stringify(want)) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${want.join(',')}; last saw ${JSON.stringify(last?.objects.map((o) => o.object.metadata.name))}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

test('changes to the directory are picked up within a second, additions and removals alike', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-watch-'));
  const results: ReadResult[] = [];
  const w = watchManifests(dir, (r) => results.push(r), { debounceMs: 50, pollMs: 200 });
  try {
    await writeFile(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: first}\n');
    await nextResult(results, ['first'], 1000);
    await writeFile(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: second}\n');
    await nextResult(results, ['second'], 1000);
    await unlink(join(dir, 'a.yaml'));
    await nextResult(results, [], 1000);
    // Three edits, each a burst of fs events: debouncing keeps the re-reads close to one per edit.
    assert.ok(results.length <= 8, `expected debounced reloads, got ${results.length}`);
  } finally {
    w.close();
    await rm(dir, { recursive: true, force: true });
  }
});
