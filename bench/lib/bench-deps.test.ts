// scripts/bench-deps.sh, which typecheck, lint and test:bench each call first: one `npm ci` in
// bench/ when its node_modules is missing or older than the lock file, none otherwise, and never
// two at once into one node_modules when two callers race. A stand-in `npm` on PATH records its
// calls; the script is a copy run in a temporary tree shaped like the repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'bench-deps.sh');

// The install takes a second, so a second caller started beside it finds no node_modules yet.
const FAKE_NPM = `#!/usr/bin/env bash
echo "start $*" >> ../calls
[ -e ../busy ] && echo overlap >> ../calls
touch ../busy
rm -rf node_modules
sleep 1
mkdir -p node_modules
echo '{}' > node_modules/.package-lock.json
rm -f ../busy
`;

function tree(): { dir: string; calls: () => string[]; deps: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-deps-'));
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'bench'));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(SCRIPT, join(dir, 'scripts', 'bench-deps.sh'));
  writeFileSync(join(dir, 'bench', 'package-lock.json'), '{}\n');
  writeFileSync(join(dir, 'bin', 'npm'), FAKE_NPM);
  chmodSync(join(dir, 'bin', 'npm'), 0o755);
  const env = { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` };
  return {
    dir,
    calls: () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean) : []),
    deps: async () => { await run('bash', [join(dir, 'scripts', 'bench-deps.sh')], { env, timeout: 30_000 }); },
  };
}

test('two callers at once: one install, the other waits for it and installs nothing', async () => {
  const t = tree();
  try {
    await Promise.all([t.deps(), t.deps()]);
    assert.deepEqual(t.calls(), ['start ci --no-audit --no-fund --loglevel=error']);
    assert.ok(existsSync(join(t.dir, 'bench', 'node_modules', '.package-lock.json')));
  } finally {
    rmSync(t.dir, { recursive: true, force: true });
  }
});

test('installed and newer than the lock file: nothing to do; a lock file changed since: one install', async () => {
  const t = tree();
  try {
    await t.deps();
    await t.deps();
    assert.equal(t.calls().length, 1, 'the second call found the install fresh');
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(t.dir, 'bench', 'package-lock.json'), later, later);
    await t.deps();
    assert.equal(t.calls().length, 2, 'bench/package-lock.json newer than the install: installed again');
  } finally {
    rmSync(t.dir, { recursive: true, force: true });
  }
});
