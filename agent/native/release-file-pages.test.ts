// releaseFilePages(): the node binary's clean pages leave this process's RSS, what the process
// wrote stays (ADR 0012). The process keeps running JavaScript and native code afterwards, and a
// mapping of the binary holding copy-on-write pages (the relocated RELRO data) keeps them: only
// pages that equal the file's are dropped, to be mapped back from the page cache when touched.
// On Linux the addon must be built (npm install does it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { releaseFilePages } from './index.ts';

interface BinaryMapping { range: string; perms: string; rssKB: number; anonKB: number }

/** This process's mappings of the node executable, from /proc/self/smaps. */
function binaryMappings(): BinaryMapping[] {
  const exe = realpathSync('/proc/self/exe');
  const out: BinaryMapping[] = [];
  let cur: BinaryMapping | null = null;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const h = /^([0-9a-f]+-[0-9a-f]+) (\S{4}) \S+ \S+ \S+\s+(.*)$/.exec(line);
    if (h) {
      cur = h[3]!.trim() === exe ? { range: h[1]!, perms: h[2]!, rssKB: 0, anonKB: 0 } : null;
      if (cur) out.push(cur);
      continue;
    }
    const f = /^(Rss|Anonymous):\s+(\d+) kB$/.exec(line);
    if (f && cur) cur[f[1] === 'Rss' ? 'rssKB' : 'anonKB'] = Number(f[2]);
  }
  return out;
}

const rssFileKB = (): number => Number(/RssFile:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);

test('the binary\'s clean pages leave RSS; its written pages stay; the process runs on', () => {
  const before = binaryMappings();
  const clean = before.filter((m) => m.perms[1] === '-' && m.anonKB === 0);
  const written = before.filter((m) => m.anonKB > 0);
  assert.ok(clean.reduce((s, m) => s + m.rssKB, 0) > 10_000, 'node runs from more than 10 MB of its binary');
  assert.ok(written.length > 0, 'the relocated data of the binary holds copy-on-write pages');
  const fileBefore = rssFileKB();

  const dropped = releaseFilePages();

  assert.ok(dropped > 10_000, `dropped ${dropped} kB`);
  const fileAfter = rssFileKB();
  // what comes back at once is what this test itself runs (the read below, the asserts)
  assert.ok(fileAfter < fileBefore - dropped / 2, `RssFile ${fileBefore} -> ${fileAfter} kB, dropped ${dropped} kB`);
  const after = new Map(binaryMappings().map((m) => [m.range, m]));
  for (const m of written) {
    assert.equal(after.get(m.range)?.anonKB, m.anonKB, `copy-on-write pages of ${m.range} (${m.perms}) kept`);
  }
  // V8's compilers, the builtins and OpenSSL (native code) run from pages mapped back on demand
  const sum = Array.from({ length: 20_000 }, (_, i) => i * 2).reduce((s, x) => s + x, 0);
  assert.equal(sum, 399_980_000);
  assert.equal(createHash('sha256').update('meshlet').digest('hex').length, 64);
  assert.deepEqual(JSON.parse(JSON.stringify({ a: [1, 'b'] })), { a: [1, 'b'] });
});
