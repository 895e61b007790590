import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyMappings, parseSmaps, parseSmapsRollup, privateMemoryOf } from './smaps.ts';

// One record in the kernel's format (6.x: Pss_Dirty/Pss_Anon lines, THPeligible, VmFlags).
const record = (header: string, f: { rss: number; pss: number; sc?: number; pc?: number; pd?: number; anon?: number; size?: number }): string => [
  header,
  `Size:           ${f.size ?? f.rss} kB`,
  'KernelPageSize:        4 kB',
  `Rss:            ${f.rss} kB`,
  `Pss:            ${f.pss} kB`,
  `Pss_Dirty:      ${f.pd ?? 0} kB`,
  `Shared_Clean:   ${f.sc ?? 0} kB`,
  'Shared_Dirty:          0 kB',
  `Private_Clean:  ${f.pc ?? 0} kB`,
  `Private_Dirty:  ${f.pd ?? 0} kB`,
  `Anonymous:      ${f.anon ?? 0} kB`,
  'Swap:                  0 kB',
  'THPeligible:           0',
  'VmFlags: rd mr mw me',
].join('\n');

const ROLLUP = `557c86e96000-7fff004d6000 ---p 00000000 00:00 0                          [rollup]
Rss:               72104 kB
Pss:               38811 kB
Pss_Dirty:         20480 kB
Pss_Anon:          20480 kB
Pss_File:          18331 kB
Pss_Shmem:             0 kB
Shared_Clean:      50012 kB
Shared_Dirty:          0 kB
Private_Clean:      1612 kB
Private_Dirty:     20480 kB
Referenced:        72104 kB
Anonymous:         20480 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
`;

test('smaps_rollup: RSS, PSS and private dirty of the process', () => {
  const r = parseSmapsRollup(ROLLUP);
  assert.deepEqual(r, { rss: 72104, pss: 38811, sharedClean: 50012, sharedDirty: 0, privateClean: 1612, privateDirty: 20480, anonymous: 20480, swap: 0 });
});

test('text that is not smaps is an error naming the line, not a zero', () => {
  assert.throws(() => parseSmapsRollup('Name:\tnode\nVmRSS:\t 100 kB\n'), /not smaps text: "Name:\\tnode"/);
  assert.throws(() => parseSmapsRollup(''), /no mapping/);
  assert.throws(() => parseSmapsRollup(`${ROLLUP}${ROLLUP}`), /one record, got 2/);
});

// An arena: 64 MiB-aligned, used part then the reserved rest; a stack: guard page then 8 MiB.
const SMAPS = [
  record('55d0a0000000-55d0a2000000 r-xp 00000000 fe:00 1234    /usr/bin/node24', { rss: 28000, pss: 9000, sc: 27000, pc: 1000 }),
  record('55d0a2000000-55d0a2100000 rw-p 02000000 fe:00 1234    /usr/bin/node24', { rss: 600, pss: 600, pd: 600 }),
  record('55d0a4000000-55d0a5a00000 rw-p 00000000 00:00 0       [heap]', { rss: 17000, pss: 17000, pd: 17000, anon: 17000 }),
  record('7f3c18000000-7f3c18400000 rw-p 00000000 00:00 0 ', { rss: 1200, pss: 1200, pd: 1200, anon: 1200, size: 4096 }),
  record('7f3c18400000-7f3c1c000000 ---p 00000000 00:00 0 ', { rss: 0, pss: 0, size: 61440 }),
  record('7f3c20000000-7f3c20001000 ---p 00000000 00:00 0 ', { rss: 0, pss: 0, size: 4 }),
  record('7f3c20001000-7f3c20801000 rw-p 00000000 00:00 0 ', { rss: 64, pss: 64, pd: 64, anon: 64, size: 8192 }),
  record('7f3c30000000-7f3c30040000 rw-p 00000000 00:00 0 ', { rss: 256, pss: 256, pd: 256, anon: 256, size: 256 }),
  record('7f3c40000000-7f3c40200000 r-xp 00000000 fe:00 99      /usr/lib/x86_64-linux-gnu/libc.so.6', { rss: 1400, pss: 80, sc: 1400 }),
  record('7f3c50000000-7f3c50001000 r--s 00000000 fe:00 77      /tmp/x/addon.node', { rss: 4, pss: 4, pc: 4 }),
  record('7ffd10000000-7ffd10021000 rw-p 00000000 00:00 0       [stack]', { rss: 132, pss: 132, pd: 132, anon: 132 }),
  record('7ffd10100000-7ffd10102000 r-xp 00000000 00:00 0       [vdso]', { rss: 8, pss: 0, sc: 8 }),
].join('\n');

test('mappings sorted by kind: the binary, libraries, brk arena, extra arenas, stacks, the rest anonymous', () => {
  const maps = parseSmaps(SMAPS);
  assert.equal(maps.length, 12);
  assert.equal(maps[0]!.name, '/usr/bin/node24');
  assert.equal(maps[3]!.name, '');
  const kinds = classifyMappings(maps, '/usr/bin/node24');
  const pick = (k: string): [number, number, number] => { const f = kinds.get(k as never); return f ? [f.rss, f.pss, f.privateDirty] : [NaN, NaN, NaN]; };
  assert.deepEqual(pick('node binary'), [28600, 9600, 600]);
  assert.deepEqual(pick('malloc main arena (brk)'), [17000, 17000, 17000]);
  assert.deepEqual(pick('malloc arenas'), [1200, 1200, 1200]);
  assert.deepEqual(pick('thread stacks'), [64 + 132, 64 + 132, 64 + 132]);
  // the arena's reserved rest and the guard page count as anonymous with 0 resident
  assert.deepEqual(pick('anonymous (V8 heap, large mallocs)'), [256, 256, 256]);
  assert.deepEqual(pick('shared libraries'), [1400, 80, 0]);
  assert.deepEqual(pick('other files'), [4, 4, 0]);
  assert.deepEqual(pick('kernel'), [8, 0, 0]);
  const rss = [...kinds.values()].reduce((s, f) => s + f.rss, 0);
  assert.equal(rss, maps.reduce((s, m) => s + m.rss, 0), 'every mapping is counted once');
});

test('a 64 MiB-aligned mapping that is not followed by its reservation is not taken for an arena', () => {
  const maps = parseSmaps([
    record('7f3c18000000-7f3c18400000 rw-p 00000000 00:00 0 ', { rss: 100, pss: 100, pd: 100, anon: 100, size: 4096 }),
    record('7f3c18500000-7f3c1c000000 ---p 00000000 00:00 0 ', { rss: 0, pss: 0 }),
  ].join('\n'));
  assert.equal(classifyMappings(maps, '/usr/bin/node').get('malloc arenas'), undefined);
});

test('privateMemoryOf reads this process, and gives null for a pid that is gone', () => {
  const me = privateMemoryOf([process.pid]);
  assert.ok(me && me.rssMB > 10 && me.pssMB > 0 && me.pssMB <= me.rssMB && me.privateDirtyMB > 0 && me.privateDirtyMB <= me.rssMB, JSON.stringify(me));
  assert.equal(privateMemoryOf([process.pid, 2 ** 22 + 17]), null);
});
