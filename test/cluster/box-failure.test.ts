// The box's failure contract, which every cluster test relies on for clean runs: a component that
// cannot start makes startBox() fail naming that component and its log, and leaves no process
// running and no temp dir behind, while the logs stay for reading.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ComponentStartError, startBox } from './box/index.ts';

/** Live (not zombie) child processes of this test process, from Linux /proc: the components. */
function liveChildren(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid && state !== 'Z') found.push(`${pid}: ${stat.slice(0, stat.lastIndexOf(')') + 1)}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

describe('cluster box start failure', { timeout: 3 * 60_000 }, () => {
  const logsDir = mkdtempSync(join(tmpdir(), 'meshlet-box-failure-logs-'));
  after(() => rmSync(logsDir, { recursive: true, force: true }));

  it('names the component and its log, stops what had started, removes its temp dir and keeps the logs', { timeout: 2 * 60_000 }, async () => {
    const boxDirs = (): string[] => readdirSync(tmpdir()).filter((d) => d.startsWith('meshlet-box-') && !d.startsWith('meshlet-box-failure-logs-'));
    const dirsBefore = new Set(boxDirs());
    assert.deepEqual(liveChildren(), [], 'no children before the box starts');
    let error: unknown;
    try {
      const box = await startBox({ logsDir, apiServerArgs: ['--no-such-flag=1'], startTimeoutMs: 60_000 });
      await box.stop();
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ComponentStartError, `expected ComponentStartError, got ${String(error)}`);
    assert.equal(error.code, 'E_CLUSTER_COMPONENT_START');
    assert.equal(error.component, 'kube-apiserver');
    assert.equal(error.logPath, join(logsDir, 'kube-apiserver.log'));
    assert.match(error.message, /exited with code 1/);
    assert.match(readFileSync(error.logPath, 'utf8'), /unknown flag: --no-such-flag/);
    for (const started of ['etcd.log', 'jaeger.log']) assert.ok(existsSync(join(logsDir, started)), `${started} kept`);
    const leftover = boxDirs().filter((d) => !dirsBefore.has(d));
    assert.deepEqual(leftover, [], 'the box temp dir is removed');
    assert.deepEqual(liveChildren(), [], 'no component left running');
  });
});
