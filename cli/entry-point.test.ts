// The binary as a shell user meets it: a closed pipe ends it quietly, an old Node gets one
// clear sentence. Runs bin/meshlet.js in a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/meshlet.js', import.meta.url));
const examples = fileURLToPath(new URL('../examples/', import.meta.url));

test('`meshlet translate --ir -o json | head -c 10`: the closed pipe ends the command with 0 and no stack trace', () => {
  // Exactly what a shell user runs: an OS pipe into head, which exits after 10 bytes.
  const r = spawnSync('bash', ['-c', 'set -o pipefail; "$0" "$1" translate -f "$2" --ir -o json | head -c 10 >/dev/null', process.execPath, bin, examples], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|Error|\bat /);
});

test('an old Node is told which Node to use instead of failing on the TypeScript', () => {
  // Simulated: the check reads process.versions.node, overridden before the entry point loads.
  const script = `Object.defineProperty(process.versions, 'node', { value: '20.20.2' }); await import(${JSON.stringify(new URL('../bin/meshlet.js', import.meta.url).href)});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, '--', '--version'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /meshlet needs Node >= 22\.19 \(this is 20\.20\.2\).*npx meshlet/);
  assert.equal(r.stdout, '');
});
