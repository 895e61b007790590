import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectVersions } from './versions.ts';

test('outside a git checkout the commit is "unknown", not git\'s error text (it names the result file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-versions-'));
  try {
    const v = collectVersions(dir, dir);
    assert.equal(v.commit, 'unknown');
    assert.equal(v.commitDirty, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('inside the checkout the commit is a short hash', () => {
  const root = join(import.meta.dirname, '..', '..');
  assert.match(collectVersions(root, join(root, 'bench')).commit, /^[0-9a-f]{12}$/);
});
