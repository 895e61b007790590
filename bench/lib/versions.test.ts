import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMIT_ENV, collectVersions } from './versions.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

/** Runs `fn` in a fresh temporary directory with MESHLET_BENCH_COMMIT set to `env` (unset when undefined). */
function inTemp(env: string | undefined, fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'bench-versions-'));
  const saved = process.env[COMMIT_ENV];
  if (env === undefined) delete process.env[COMMIT_ENV];
  else process.env[COMMIT_ENV] = env;
  try {
    fn(dir);
  } finally {
    if (saved === undefined) delete process.env[COMMIT_ENV];
    else process.env[COMMIT_ENV] = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}

test('outside a git checkout the commit is "unknown", not git\'s error text (it names the result file)', () => {
  inTemp(undefined, (dir) => {
    const v = collectVersions(dir, dir);
    assert.equal(v.commit, 'unknown');
    assert.equal(v.commitDirty, false);
    assert.equal(v.commitSource, 'none');
  });
});

test('inside the checkout the commit is a short hash', () => {
  inTemp(undefined, () => {
    const v = collectVersions(ROOT, join(ROOT, 'bench'));
    assert.match(v.commit, /^[0-9a-f]{12}$/);
    assert.equal(v.commitSource, 'git');
  });
});

test('a `git archive` copy of this repository is named after the commit it was archived from', () => {
  inTemp(undefined, (dir) => {
    // Only the file that carries the id: what .gitattributes (export-subst) makes of it in any archive.
    const tar = execFileSync('git', ['archive', 'HEAD', 'bench/lib/archive-commit.txt'], { cwd: ROOT });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    const v = collectVersions(dir, join(dir, 'bench'));
    assert.equal(v.commit, git(ROOT, 'rev-parse', '--short=12', 'HEAD'));
    assert.equal(v.commitSource, 'archive');
  });
});

test('in the checkout its HEAD wins over MESHLET_BENCH_COMMIT', () => {
  inTemp('0123456789abcdef0123456789abcdef01234567', () => {
    const v = collectVersions(ROOT, join(ROOT, 'bench'));
    assert.equal(v.commit, git(ROOT, 'rev-parse', '--short=12', 'HEAD'));
    assert.equal(v.commitSource, 'git');
  });
});

test('MESHLET_BENCH_COMMIT names a copy git cannot; a value that is no commit id is refused', () => {
  inTemp('0123456789ABCDEF0123456789abcdef01234567', (dir) => {
    const v = collectVersions(dir, dir);
    assert.equal(v.commit, '0123456789ab');
    assert.equal(v.commitSource, 'env');
  });
  inTemp('main', (dir) => {
    assert.throws(() => collectVersions(dir, dir), /MESHLET_BENCH_COMMIT='main' is not a commit id/);
  });
});

test('a copy extracted inside another checkout is not named after that checkout\'s HEAD', () => {
  inTemp(undefined, (dir) => {
    git(dir, 'init', '-q');
    writeFileSync(join(dir, 'x'), 'x');
    git(dir, 'add', 'x');
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'x');
    const copy = join(dir, '.tmp', 'copy');
    mkdirSync(copy, { recursive: true });
    const v = collectVersions(copy, copy);
    assert.equal(v.commit, 'unknown');
    assert.equal(v.commitSource, 'none');
  });
});
