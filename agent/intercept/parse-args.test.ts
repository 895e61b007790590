import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseInitArgs, INIT_HELP } from './parse-args.ts';
import { defaultInitOptions } from './options.ts';

describe('parseInitArgs', () => {
  test('no flags: the contract defaults (15001, 15006, uid 1337, everything intercepted)', () => {
    assert.deepEqual(parseInitArgs([]), { help: false, options: defaultInitOptions() });
    const o = defaultInitOptions();
    assert.equal(o.outboundPort, 15001);
    assert.equal(o.inboundPort, 15006);
    assert.deepEqual(o.proxyUids, [1337]);
    assert.equal(o.includeOutboundPorts, '*');
  });

  test('--flag value and --flag=value; comma lists; repeats append', () => {
    const { options } = parseInitArgs(['--exclude-outbound-ports=22,25', '--exclude-outbound-ports', '3306', '--include-inbound-ports', '80', '--include-inbound-ports=443', '--proxy-uid', '1000', '--dry-run', '--cleanup', '--ipv6=off', '--iptables-mode', 'legacy']);
    assert.deepEqual(options.excludeOutboundPorts, [22, 25, 3306]);
    assert.deepEqual(options.includeInboundPorts, [80, 443]);
    assert.deepEqual(options.proxyUids, [1000], 'a given uid replaces the default');
    assert.equal(options.dryRun && options.cleanup, true);
    assert.equal(options.ipv6, 'off');
    assert.equal(options.iptablesMode, 'legacy');
  });

  test("'*' selects everything and an empty value selects nothing", () => {
    assert.equal(parseInitArgs(['--include-outbound-cidrs', '*']).options.includeOutboundCidrs, '*');
    assert.deepEqual(parseInitArgs(['--include-inbound-ports', '']).options.includeInboundPorts, []);
    assert.deepEqual(parseInitArgs(['--include-outbound-cidrs', '10.0.0.0/8, fd00::/8']).options.includeOutboundCidrs, ['10.0.0.0/8', 'fd00::/8']);
  });

  test('help is reported, and the help text names every flag the parser knows', () => {
    assert.equal(parseInitArgs(['--help']).help, true);
    assert.equal(parseInitArgs(['-h', '--outbound-port', 'x']).help, true, '--help wins over a malformed flag');
    for (const flag of ['--outbound-port', '--inbound-port', '--proxy-uid', '--proxy-gid', '--include-outbound-ports', '--exclude-outbound-ports', '--include-outbound-cidrs', '--exclude-outbound-cidrs', '--include-inbound-ports', '--exclude-inbound-ports', '--ipv6', '--iptables-mode', '--dry-run', '--cleanup']) {
      assert.ok(INIT_HELP.includes(flag), flag);
      if (!['--dry-run', '--cleanup'].includes(flag)) assert.doesNotThrow(() => parseInitArgs([flag, flag.includes('cidr') ? '10.0.0.0/8' : flag.includes('ipv6') ? 'on' : flag.includes('mode') ? 'nft' : '80']), flag);
    }
  });

  for (const [args, re] of [
    [['--bogus'], /unknown flag '--bogus'/],
    [['--outbound-port'], /needs a value/],
    [['--outbound-port', '70000'], /not a port/],
    [['--exclude-inbound-ports', '80,http'], /'http' is not a number/],
    [['--exclude-outbound-cidrs', '10.0.0.0/33'], /not an IPv4 or IPv6 CIDR/],
    [['--include-outbound-cidrs', 'example.com'], /not an IPv4 or IPv6 CIDR/],
    [['--inbound-port', '15001'], /must differ/],
    [['--ipv6', 'yes'], /expected one of auto\|on\|off/],
    [['--iptables-mode', 'nftables'], /expected one of auto\|nft\|legacy/],
  ] as const) {
    test(`rejects ${args.join(' ')}`, () => {
      assert.throws(() => parseInitArgs(args), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'E_INIT_OPTIONS');
        assert.match((err as Error).message, re);
        return true;
      });
    });
  }
});
