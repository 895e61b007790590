// The golden harness every golden layer uses: cases, orphans, comparison and rewriting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertGolden, goldenCases, orphanOutputs } from '../support/golden.ts';

function world(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-golden-'));
  for (const f of ['b.in.yaml', 'a.in.yaml', 'a.out.yaml', 'renamed.out.yaml', 'a.expect.yaml']) writeFileSync(join(dir, f), 'x: 1\n');
  return dir;
}

test('comparing: cases pair inputs with outputs, an output whose input is gone is an orphan, a difference fails', () => {
  const dir = world();
  try {
    assert.deepEqual(goldenCases(dir).map((c) => c.name), ['a', 'b']);
    assert.deepEqual(orphanOutputs(dir, '.out.yaml', false), ['renamed.out.yaml']);
    assertGolden(join(dir, 'a.out.yaml'), 'x: 1\n', false);
    assert.throws(() => assertGolden(join(dir, 'a.out.yaml'), 'x: 2\n', false), /a\.out\.yaml differs: rerun with UPDATE_GOLDEN=1/);
    assert.throws(() => assertGolden(join(dir, 'b.out.yaml'), 'x: 1\n', false), /b\.out\.yaml is missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('UPDATE_GOLDEN: outputs are rewritten and orphans deleted', () => {
  const dir = world();
  try {
    assert.deepEqual(orphanOutputs(dir, '.out.yaml', true), []);
    assert.equal(existsSync(join(dir, 'renamed.out.yaml')), false);
    assertGolden(join(dir, 'b.out.yaml'), 'y: 2\n', true);
    assert.equal(readFileSync(join(dir, 'b.out.yaml'), 'utf8'), 'y: 2\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
