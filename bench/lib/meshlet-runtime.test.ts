// The bench runs the built JavaScript unless told otherwise: the choice is read from the
// environment strictly, a build that fails is a reason (never a silent fall back to the
// sources), and a build that succeeds is a runnable meshlet laid out as an installed copy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildMeshlet, meshletRuntime, runtimeKindFromEnv } from './meshlet-runtime.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('MESHLET_BENCH_RUNTIME selects the runtime; an unknown value is an error', () => {
  const cases: [string | undefined, string][] = [[undefined, 'built'], ['', 'built'], ['built', 'built'], [' Sources ', 'sources'], ['sources', 'sources']];
  for (const [v, want] of cases) assert.equal(runtimeKindFromEnv(v === undefined ? {} : { MESHLET_BENCH_RUNTIME: v }), want, String(v));
  assert.throws(() => runtimeKindFromEnv({ MESHLET_BENCH_RUNTIME: 'dist' }), /expected "built" \(the default\) or "sources"/);
});

test('a tree that does not parse is a reason naming the build and the way to run the sources', () => {
  const root = mkdtempSync(join(tmpdir(), 'meshlet-runtime-bad-'));
  try {
    mkdirSync(join(root, 'bin'));
    writeFileSync(join(root, 'bin', 'meshlet.ts'), 'const x = ;\n');
    writeFileSync(join(root, 'tsconfig.build.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', target: 'es2022' }, include: ['bin'] }));
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    const out = buildMeshlet(root, join(root, 'out'), 120_000);
    assert.equal(out.ok, false);
    assert.match(out.ok ? '' : out.reason, /tsc -p tsconfig\.build\.json\) failed, exit \d: .*TS1109.*MESHLET_BENCH_RUNTIME=sources/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the built meshlet runs from the scratch directory, once per run, and its agent answers --help', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'meshlet-runtime-'));
  const lines: string[] = [];
  try {
    const first = meshletRuntime(ROOT, scratch, (l) => lines.push(l));
    assert.ok(first.ok, first.ok ? '' : first.reason);
    assert.equal(first.runtime.kind, 'built');
    assert.equal(first.runtime.entry, join(scratch, 'meshlet-build', 'bin', 'meshlet.js'));
    assert.equal(meshletRuntime(ROOT, scratch, (l) => lines.push(l)), first, 'built once per run');
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^meshlet runtime: built JavaScript/);
    const r = spawnSync(process.execPath, [first.runtime.entry, 'agent', '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--config/);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
