// releaseFreeMemory(): memory malloc has freed but kept goes back to the kernel (ADR 0012). The
// shape of an agent's start in miniature: many malloc'd blocks (ArrayBuffer backing stores below
// glibc's mmap threshold, so from the brk heap) freed while a later one stays alive, which keeps
// glibc from shrinking the heap by itself. On Linux the addon must be built (npm install does it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';
import { releaseFreeMemory } from './index.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Anonymous resident memory of this process, MB (what malloc's heap pages count in). */
function rssAnonMB(): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  assert.ok(m, 'no RssAnon in /proc/self/status');
  return Number(m[1]) / 1024;
}

test('freed malloc memory stays resident until releaseFreeMemory() gives it back', async () => {
  // 64 MB in 1000 blocks, dropped when this function returns
  const blocks = (): Buffer[] => Array.from({ length: 1000 }, () => Buffer.allocUnsafeSlow(64 * 1024).fill(1));
  const allocated = ((): number => {
    const held = blocks();
    assert.equal(held.length, 1000);
    return rssAnonMB();
  })();
  const pin = Buffer.allocUnsafeSlow(64 * 1024).fill(2);
  for (let i = 0; i < 3; i++) { gc(); await sleep(20); }
  const freed = rssAnonMB();
  // glibc keeps the freed 64 MB: that is what an idle agent carried
  assert.ok(freed > allocated - 16, `freed ${freed.toFixed(1)} MB, allocated ${allocated.toFixed(1)} MB`);
  assert.equal(releaseFreeMemory(), true);
  const trimmed = rssAnonMB();
  assert.ok(trimmed < freed - 40, `after the trim ${trimmed.toFixed(1)} MB, before ${freed.toFixed(1)} MB`);
  assert.equal(pin[0], 2, 'a live block is untouched');
});
