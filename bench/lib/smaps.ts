// What of a process's RSS is its own (issue 16). RSS counts every resident page the process maps,
// including the node binary's text and read-only data, which every Node process on the machine
// shares: two sidecars of 75 MB RSS do not cost a node 150 MB. /proc/PID/smaps_rollup gives the
// kernel's split: PSS (each shared page divided by the number of processes mapping it, so PSS
// summed over processes is what they cost together) and Private_Dirty (pages only this process
// has written: its heaps, stacks and arenas, what one more sidecar adds). /proc/PID/smaps gives
// the same per mapping, which `summarizeSmaps` sorts into kinds (the binary, shared libraries,
// malloc's main arena, thread stacks, other anonymous memory: V8's heap pages among it) for the
// by-hand attribution in ADR 0012. Both are parsed here, pure, so they are tested on fixtures.
import { readFileSync } from 'node:fs';

/** The fields of one smaps record (or the rollup) in kB; absent fields are 0. */
export interface SmapsFields {
  rss: number;
  pss: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  anonymous: number;
  swap: number;
}

const FIELD: Record<string, keyof SmapsFields> = {
  Rss: 'rss', Pss: 'pss', Shared_Clean: 'sharedClean', Shared_Dirty: 'sharedDirty',
  Private_Clean: 'privateClean', Private_Dirty: 'privateDirty', Anonymous: 'anonymous', Swap: 'swap',
};

const zero = (): SmapsFields => ({ rss: 0, pss: 0, sharedClean: 0, sharedDirty: 0, privateClean: 0, privateDirty: 0, anonymous: 0, swap: 0 });

/** One mapping: its address range, permissions, path or pseudo-name ('' when anonymous) and fields. */
export interface SmapsMapping extends SmapsFields {
  start: bigint;
  end: bigint;
  perms: string;
  name: string;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S{4})\s+\S+\s+\S+\s+\S+\s*(.*)$/;
const FIELD_LINE = /^([A-Za-z_]+):\s+(\d+) kB$/;

/** Parses /proc/PID/smaps (or smaps_rollup, one record). Throws on text that is neither. */
export function parseSmaps(text: string): SmapsMapping[] {
  const out: SmapsMapping[] = [];
  let cur: SmapsMapping | null = null;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const h = HEADER.exec(line);
    if (h) {
      cur = { start: BigInt(`0x${h[1]}`), end: BigInt(`0x${h[2]}`), perms: h[3]!, name: h[4]!.trim(), ...zero() };
      out.push(cur);
      continue;
    }
    const f = FIELD_LINE.exec(line);
    if (f && cur) {
      const key = FIELD[f[1]!];
      if (key) cur[key] += Number(f[2]);
      continue;
    }
    // THPeligible, VmFlags, ProtectionKey: no kB figure, nothing to add
    if (cur && /^[A-Za-z_]+:/.test(line)) continue;
    throw new Error(`not smaps text: ${JSON.stringify(line.slice(0, 80))}`);
  }
  if (out.length === 0) throw new Error('not smaps text: no mapping');
  return out;
}

/** The rollup of /proc/PID/smaps_rollup: one record with the process's totals. */
export function parseSmapsRollup(text: string): SmapsFields {
  const all = parseSmaps(text);
  if (all.length !== 1) throw new Error(`smaps_rollup holds one record, got ${all.length}`);
  const { start: _s, end: _e, perms: _p, name: _n, ...fields } = all[0]!;
  return fields;
}

export type MappingKind = 'node binary' | 'shared libraries' | 'other files' | 'malloc main arena (brk)' | 'malloc arenas'
  | 'thread stacks' | 'anonymous (V8 heap, large mallocs)' | 'kernel';

const ARENA = 64n * 1024n * 1024n; // glibc's HEAP_MAX_SIZE on 64-bit: each extra arena is one such aligned region
const STACK_KB = 8192; // the default pthread stack (ulimit -s), preceded by a one-page guard

/**
 * Sorts mappings by what they are. Anonymous memory carries no name, so two shapes are told apart
 * by layout: a glibc arena is a 64 MiB-aligned region, its used part then the reserved rest
 * (---p), 64 MiB together; a thread stack is an 8 MiB read-write mapping right after a guard
 * page. What is left anonymous is V8's heap pages (Node 24 has no pointer-compression cage, so
 * they have no shape of their own) and malloc's blocks above its mmap threshold.
 */
export function classifyMappings(maps: SmapsMapping[], nodeBinary: string): Map<MappingKind, SmapsFields> {
  const out = new Map<MappingKind, SmapsFields>();
  const add = (k: MappingKind, m: SmapsFields): void => {
    const t = out.get(k) ?? zero();
    for (const f of Object.keys(t) as (keyof SmapsFields)[]) t[f] += m[f];
    out.set(k, t);
  };
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i]!;
    const prev = maps[i - 1];
    const next = maps[i + 1];
    if (m.name === nodeBinary) add('node binary', m);
    else if (m.name === '[heap]') add('malloc main arena (brk)', m);
    else if (m.name === '[stack]') add('thread stacks', m);
    else if (/^\[(vdso|vvar|vsyscall|vvar_vclock)\]$/.test(m.name)) add('kernel', m);
    else if (m.name.startsWith('/')) add(/\.so(\.\d+)*$/.test(m.name) ? 'shared libraries' : 'other files', m);
    else if (m.start % ARENA === 0n && next?.perms.startsWith('---') && next.start === m.end && next.end - m.start === ARENA) add('malloc arenas', m);
    else if (m.perms.startsWith('rw') && (m.end - m.start) / 1024n === BigInt(STACK_KB) && prev?.perms.startsWith('---') && prev.end === m.start) add('thread stacks', m);
    else add('anonymous (V8 heap, large mallocs)', m);
  }
  return out;
}

const MB = 1024;

export interface PrivateMemory {
  rssMB: number;
  pssMB: number;
  privateDirtyMB: number;
}

/**
 * RSS, PSS and Private_Dirty summed over the pids, from smaps_rollup (null when a process is gone
 * or its smaps cannot be read: the reading is then missing, never partly summed).
 */
export function privateMemoryOf(pids: number[]): PrivateMemory | null {
  let rss = 0, pss = 0, dirty = 0;
  for (const pid of pids) {
    let text: string;
    try { text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'); } catch { return null; }
    const r = parseSmapsRollup(text);
    rss += r.rss;
    pss += r.pss;
    dirty += r.privateDirty;
  }
  return { rssMB: rss / MB, pssMB: pss / MB, privateDirtyMB: dirty / MB };
}
