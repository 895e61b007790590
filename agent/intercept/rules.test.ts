// Golden tests of the pure generator through `meshlet init --dry-run`: flags in, the exact
// iptables-restore input out (testdata/<case>.rules). UPDATE_GOLDEN=1 rewrites the files; review
// the diff like code. Semantics are asserted separately below so a golden cannot bless a bug.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseInitArgs } from './parse-args.ts';
import { runInit } from './run-init.ts';
import { buildRuleSet } from './rules.ts';
import type { Runner } from './iptables.ts';

const CASES: Record<string, string[]> = {
  defaults: [],
  excludes: ['--exclude-outbound-ports', '3306,5432', '--exclude-outbound-cidrs', '169.254.169.254/32,fd00::/8', '--exclude-inbound-ports', '9090', '--proxy-gid', '1337'],
  includes: ['--include-outbound-ports', '80,443', '--include-outbound-cidrs', '10.96.0.0/12', '--include-outbound-cidrs', 'fd00:96::/108', '--include-inbound-ports', '8080'],
  'no-inbound-custom-ports': ['--include-inbound-ports', '', '--outbound-port', '16001', '--inbound-port', '16006', '--proxy-uid', '1000,1337'],
};

const noIptables: Runner = () => Promise.reject(new Error('dry-run must not run iptables'));

async function dryRun(args: string[]): Promise<string> {
  let out = '';
  const { options } = parseInitArgs([...args, '--dry-run', '--ipv6', 'on']);
  await runInit(options, { stdout: { write: (s: string) => ((out += s), true) }, run: noIptables, hasIpv6: () => false });
  return out;
}

describe('meshlet init rule generator (golden)', () => {
  for (const [name, args] of Object.entries(CASES)) {
    test(`${name}: ${args.join(' ') || '(no flags)'}`, async () => {
      const actual = await dryRun(args);
      const file = new URL(`./testdata/${name}.rules`, import.meta.url);
      if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, actual);
      assert.equal(actual, readFileSync(file, 'utf8'));
    });
  }
});

describe('meshlet init rule semantics', () => {
  const rules = (args: string[], family: 4 | 6): string[] => buildRuleSet(parseInitArgs(args).options, family).rules;
  const index = (list: string[], re: RegExp): number => list.findIndex((r) => re.test(r));

  test('every exception RETURNs before the jump towards the outbound REDIRECT', () => {
    const r = rules(['--exclude-outbound-ports', '22', '--exclude-outbound-cidrs', '10.0.0.0/8'], 4);
    const jump = index(r, /^-A MESHLET_OUTPUT .*-j MESHLET_OUT_DEST$/);
    for (const re of [/-o lo -j RETURN/, /--uid-owner 1337 -j RETURN/, /-d 10\.0\.0\.0\/8 -j RETURN/, /--dport 22 -j RETURN/]) {
      const at = index(r, re);
      assert.ok(at >= 0 && at < jump, `${re} before the jump`);
    }
  });

  test("the agent's own ports are never redirected inbound, even with '*'", () => {
    const r = rules([], 4);
    for (const p of [15001, 15006, 15020]) assert.ok(index(r, new RegExp(`^-A MESHLET_INBOUND .*--dport ${p} -j RETURN$`)) >= 0, `port ${p}`);
    assert.ok(index(r, /--dport 15020 -j RETURN/) < index(r, /^-A MESHLET_INBOUND -p tcp -j MESHLET_IN_REDIRECT$/));
  });

  test('CIDRs go to their own family only; a list without this family redirects nothing', () => {
    const args = ['--include-outbound-cidrs', '10.96.0.0/12', '--exclude-outbound-cidrs', 'fd00::/8'];
    const v4 = rules(args, 4);
    const v6 = rules(args, 6);
    assert.ok(v4.includes('-A MESHLET_OUT_DEST -d 10.96.0.0/12 -p tcp -j MESHLET_REDIRECT'));
    assert.ok(!v4.some((r) => r.includes('fd00::')));
    assert.ok(v6.includes('-A MESHLET_OUTPUT -d fd00::/8 -j RETURN'));
    assert.ok(!v6.some((r) => r.startsWith('-A MESHLET_OUT_DEST')), 'no IPv6 include CIDR: nothing IPv6 is redirected');
  });

  test('a bare address is a host route', () => {
    assert.ok(rules(['--exclude-outbound-cidrs', '169.254.169.254'], 4).includes('-A MESHLET_OUTPUT -d 169.254.169.254/32 -j RETURN'));
  });

  test('both built-in hooks jump into our chains, once', () => {
    const set = buildRuleSet(parseInitArgs([]).options, 6);
    assert.deepEqual(set.jumps, ['-A PREROUTING -p tcp -j MESHLET_INBOUND', '-A OUTPUT -p tcp -j MESHLET_OUTPUT']);
    assert.equal(set.rules.filter((r) => r.startsWith('-A OUTPUT ')).length, 1);
  });
});
