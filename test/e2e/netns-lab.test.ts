// e2e: the lab itself. Whatever a test does, the host must end up exactly as before: our
// namespaces deleted, processes stopped; namespaces of dead runs swept; the host's own
// interfaces untouched (everything, including the bridge, lives in namespaces we created).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { execCommand } from '../support/netns-exec.ts';
import { LabProcess, NetnsLab, sweepStaleNamespaces } from '../support/netns.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const namespaces = async (): Promise<string[]> =>
  (await execCommand(['ip', 'netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '');
const hostLinks = async (): Promise<string> => (await execCommand(['ip', '-o', 'link', 'show'])).stdout.replace(/\s+link\/.*$/gm, '');

describe('network-namespace lab', { timeout: 60_000 }, () => {
  test('pods reach each other over the node bridge; destroy removes every namespace and process', async () => {
    const linksBefore = await hostLinks();
    const lab = await NetnsLab.create();
    const a = await lab.addPod('a', { ipv4: '10.244.0.20', ipv6: 'fd00:244::20' });
    const b = await lab.addPod('b', { ipv4: '10.244.0.21' });
    const mine = (await namespaces()).filter((n) => n.startsWith(lab.prefix));
    assert.deepEqual(mine.sort(), [`${lab.prefix}-a`, `${lab.prefix}-b`, `${lab.prefix}-node`]);
    const server = b.spawn([process.execPath, fixture('tcp-server.ts'), '--name', 'b', '--port', '7000']);
    await server.waitForLine(/"ready":true/);
    const r = await a.exec([process.execPath, fixture('tcp-client.ts'), '--host', b.ipv4, '--port', '7000']);
    assert.deepEqual(JSON.parse(r.stdout), { ok: true, uid: 0, lines: [{ server: 'b', local: `${b.ipv4}:7000`, remote: a.ipv4 }] });
    const sleeper = a.spawn(['sleep', '300']);
    assert.equal(sleeper.running, true);
    await lab.destroy();
    assert.equal(sleeper.running, false, 'processes are stopped');
    assert.deepEqual((await namespaces()).filter((n) => n.startsWith(lab.prefix)), []);
    assert.equal(await hostLinks(), linksBefore, 'host interfaces untouched');
  });

  test('a failing step does not leak: bad pod names are refused before anything is created', async () => {
    const lab = await NetnsLab.create();
    try {
      await assert.rejects(lab.addPod('Bad_Name', { ipv4: '10.244.0.30' }), /lowercase/);
    } finally {
      await lab.destroy();
    }
    assert.deepEqual((await namespaces()).filter((n) => n.startsWith(lab.prefix)), []);
  });

  test('SIGTERM (a runner timeout) still tears the lab down', async () => {
    const child = new LabProcess([process.execPath, fixture('lab-then-wait.ts')]);
    try {
      const { prefix } = JSON.parse(await child.waitForLine(/"prefix"/, 20_000)) as { prefix: string };
      assert.equal((await namespaces()).filter((n) => n.startsWith(prefix)).length, 2);
      await child.stop(10_000);
      assert.equal(child.child.exitCode, 143);
      assert.deepEqual((await namespaces()).filter((n) => n.startsWith(prefix)), []);
    } finally {
      await child.stop();
    }
  });

  test('namespaces left by a dead run are swept; a live run is left alone', async () => {
    const dead = 'mle2e999999999xdead-node'; // pid 999999999 cannot exist (pid_max <= 4194304)
    const live = `mle2e${process.pid}xbeef-node`;
    await execCommand(['ip', 'netns', 'add', dead]);
    await execCommand(['ip', 'netns', 'add', live]);
    try {
      const removed = await sweepStaleNamespaces();
      assert.ok(removed.includes(dead));
      const left = await namespaces();
      assert.ok(!left.includes(dead));
      assert.ok(left.includes(live));
    } finally {
      await execCommand(['ip', 'netns', 'del', live], { allowFail: true });
      await execCommand(['ip', 'netns', 'del', dead], { allowFail: true });
    }
  });
});
