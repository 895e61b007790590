import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, writeFile, rm, unlink } from 'node:fs/promises';
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

/**
 * Writes `text` to a temporary name, then renames it over `file` (an atomic save), back to back
 * as a tool does: the temporary name is gone before the watcher looks at the directory.
 */
function replaceByRename(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

const ns = (...names: string[]): string => names.map((n) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${n}}\n`).join('---\n');

/**
 * A directory holding a.yaml with `initial`, watched with fs events only (no poll) and `opts`;
 * runs `body` once the first read is in, then closes the watch and removes the directory.
 */
async function withWatchedFile(initial: string, opts: Parameters<typeof watchManifests>[2], body: (file: string, results: ReadResult[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-watch-'));
  const results: ReadResult[] = [];
  const file = join(dir, 'a.yaml');
  await writeFile(file, ns(initial));
  const w = watchManifests(dir, (r) => results.push(r), { pollMs: 0, ...opts });
  try {
    await nextResult(results, [initial], 2000);
    await body(file, results);
  } finally {
    w.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const namesRead = (results: ReadResult[]): string[] => results.map((r) => r.objects.map((o) => o.object.metadata.name).join(','));

test('a manifest replaced by rename again and again is re-read each time from the watch alone (no poll)', async () => {
  // pollMs 0: only fs events can tell. Node's recursive watch on Linux lost every replacement after the first.
  await withWatchedFile('v0', {}, async (file, results) => {
    for (let i = 1; i <= 4; i++) {
      replaceByRename(file, ns(`v${i}`));
      await nextResult(results, [`v${i}`], 2000);
    }
  });
});

test('a file written in place in two halves, with a pause between them, is applied only whole', async () => {
  await withWatchedFile('old', {}, async (file, results) => {
    const whole = ns('first', 'second');
    const cut = whole.indexOf('---');
    const h = await open(file, 'w');
    await h.write(whole.slice(0, cut));
    // The first half alone is a valid file holding `first` only; a reader must not take it.
    await new Promise((r) => setTimeout(r, 100));
    await h.write(whole.slice(cut));
    await h.close();
    await nextResult(results, ['first', 'second'], 3000);
    const seen = namesRead(results);
    assert.deepEqual(seen.filter((x) => x !== 'old' && x !== 'first,second'), [], `reads: ${seen.join(' | ')}`);
  });
});

test('a new file moved into place is read without waiting for it to be stable', async () => {
  // A stability wait far longer than the bound below: a renamed file must not pay it.
  await withWatchedFile('old', { stableMs: 60_000 }, async (file, results) => {
    replaceByRename(file, ns('new'));
    await nextResult(results, ['new'], 5000);
  });
});

test('a manifest deleted and created again a moment later (a non-atomic save) is never read as gone', async () => {
  await withWatchedFile('old', {}, async (file, results) => {
    await unlink(file);
    // Longer than the debounce: a reader that takes the directory as it is sees no a.yaml.
    await new Promise((r) => setTimeout(r, 60));
    replaceByRename(file, ns('new'));
    await nextResult(results, ['new'], 3000);
    const seen = namesRead(results);
    assert.deepEqual(seen.filter((x) => x !== 'old' && x !== 'new'), [], `reads: ${seen.join(' | ')}`);
    // A removal that stays is still applied.
    await unlink(file);
    await nextResult(results, [], 3000);
  });
});
