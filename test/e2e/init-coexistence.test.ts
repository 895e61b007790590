// e2e: `meshlet init` shares the nat table with rules it does not own (a CNI's, another init's):
// applying, re-applying after a flag change and cleaning up touch only MESHLET_ chains and the
// two hooks, in either iptables variant.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab } from '../support/netns.ts';
import { meshlet } from './cli.ts';

const FOREIGN = [
  '*nat',
  ':CNI-HOSTPORT - [0:0]',
  '-A CNI-HOSTPORT -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.0.99:80',
  '-A PREROUTING -p tcp -j CNI-HOSTPORT',
  '-A OUTPUT -p udp -m udp --dport 53 -j RETURN',
  'COMMIT',
  '',
].join('\n');

const strip = (save: string): string[] =>
  save.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':')).map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
const foreign = (save: string): string[] => strip(save).filter((l) => !l.includes('MESHLET_'));

for (const variant of ['nft', 'legacy'] as const) {
  describe(`meshlet init next to foreign rules (iptables-${variant})`, { timeout: 60_000 }, () => {
    test('apply, change, cleanup: foreign rules untouched, ours exactly once', async () => {
      const lab = await NetnsLab.create();
      try {
        const pod = await lab.addPod('a', { ipv4: '10.244.0.60' });
        await pod.exec([`iptables-${variant}-restore`, '--noflush'], { input: FOREIGN });
        const save = async (): Promise<string> => (await pod.exec([`iptables-${variant}-save`, '-t', 'nat'])).stdout;
        const before = foreign(await save());
        for (const rule of FOREIGN.split('\n').filter((l) => l.startsWith('-A '))) assert.ok(before.includes(rule), rule);

        const init = async (...args: string[]): Promise<string> => (await pod.exec(meshlet('init', '--ipv6', 'off', ...args), { timeoutMs: 30_000 })).stdout;
        assert.match(await init(), new RegExp(`ipv4 \\(iptables-${variant}\\): installed`), 'auto picks the variant holding rules');
        let now = await save();
        assert.deepEqual(foreign(now), before);
        assert.equal(strip(now).filter((l) => l === '-A OUTPUT -p tcp -j MESHLET_OUTPUT').length, 1);

        assert.match(await init('--exclude-outbound-ports', '5432'), /updated/);
        now = await save();
        assert.deepEqual(foreign(now), before);
        assert.ok(strip(now).includes('-A MESHLET_OUTPUT -p tcp -m tcp --dport 5432 -j RETURN'));
        assert.equal(strip(now).filter((l) => l === '-A OUTPUT -p tcp -j MESHLET_OUTPUT').length, 1, 'hook not duplicated');

        assert.match(await init('--cleanup'), /removed/);
        assert.deepEqual(strip(await save()), before);
      } finally {
        await lab.destroy();
      }
    });
  });
}
