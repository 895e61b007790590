// `meshlet init`: program the pod's network namespace so the app's TCP goes through the agent.
// Per family: read the nat table, plan (pure), write one atomic iptables-restore transaction
// only if something differs. So a second run reads, finds everything in place, writes nothing.
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { InitOptions } from './options.ts';
import { validateInitOptions } from './options.ts';
import { buildRuleSet, CHAINS, renderRestore, type Family } from './rules.ts';
import { parseNatSave, planApply, planCleanup } from './plan.ts';
import { defaultRunner, detectIptables, restoreNat, saveNat, toolset, type Runner, type Variant } from './iptables.ts';
import { IptablesCommandError } from './errors.ts';

export type FamilyAction = 'installed' | 'updated' | 'unchanged' | 'removed' | 'absent' | 'dry-run' | 'skipped';

export interface FamilyResult {
  family: Family;
  action: FamilyAction;
  /** The iptables-restore input written (or, for --dry-run, that would be written). */
  restore: string | null;
}

export interface InitResult {
  /** The iptables variant used; null for --dry-run, which touches nothing. */
  variant: Variant | null;
  families: FamilyResult[];
}

export interface InitIo {
  stdout: Pick<Writable, 'write'>;
  run: Runner;
  /** Whether the kernel has IPv6 (decides ipv6: 'auto'). */
  hasIpv6: () => boolean;
}

const defaultIo = (): InitIo => ({
  stdout: process.stdout,
  run: defaultRunner,
  hasIpv6: () => existsSync('/proc/net/if_inet6'),
});

function familiesFor(o: InitOptions, io: InitIo): Family[] {
  if (o.ipv6 === 'on') return [4, 6];
  if (o.ipv6 === 'off') return [4];
  return io.hasIpv6() ? [4, 6] : [4];
}

const label = (f: Family): string => (f === 4 ? 'ipv4' : 'ipv6');

function dryRun(o: InitOptions, families: Family[], io: InitIo): InitResult {
  const results: FamilyResult[] = families.map((family) => {
    const restore = o.cleanup
      ? ['*nat', ...Object.values(CHAINS).map((c) => `-F ${c}`), '# plus -D of the PREROUTING/OUTPUT jumps', ...Object.values(CHAINS).map((c) => `-X ${c}`), 'COMMIT', ''].join('\n')
      : renderRestore(buildRuleSet(o, family));
    const tool = family === 4 ? 'iptables-restore' : 'ip6tables-restore';
    io.stdout.write(`# ${label(family)}: ${o.cleanup ? 'cleanup ' : ''}input for ${tool} --noflush\n${restore}`);
    return { family, action: 'dry-run', restore };
  });
  return { variant: null, families: results };
}

/**
 * Runs `meshlet init` with parsed options (see parseInitArgs). Rejects with a MeshletError:
 * InitOptionsError (bad options: exit 1), IptablesUnavailableError / IptablesCommandError (exit 2).
 * `io` defaults to process.stdout, the real iptables tools and /proc/net/if_inet6.
 */
export async function runInit(options: InitOptions, ioOverrides: Partial<InitIo> = {}): Promise<InitResult> {
  const io: InitIo = { ...defaultIo(), ...ioOverrides };
  const o = validateInitOptions(options);
  const families = familiesFor(o, io);
  if (o.dryRun) return dryRun(o, families, io);
  const env = await detectIptables(io.run, o.iptablesMode);
  const results: FamilyResult[] = [];
  for (const family of families) {
    const tools = toolset(env.variant, family, env.plain);
    let saved: string;
    try {
      saved = await saveNat(io.run, tools);
    } catch (err) {
      // --ipv6 auto: a kernel with IPv6 addresses but no ip6tables nat support (module missing,
      // ip6tables not installed) still gets IPv4 interception instead of a failed pod start.
      if (family !== 6 || o.ipv6 !== 'auto' || !(err instanceof IptablesCommandError)) throw err;
      io.stdout.write(`meshlet init: ipv6: skipped, ${err.message.split('\n')[0] ?? ''} (use --ipv6 on to make this an error)\n`);
      results.push({ family, action: 'skipped', restore: null });
      continue;
    }
    const current = parseNatSave(saved);
    let result: FamilyResult;
    if (o.cleanup) {
      const restore = planCleanup(current);
      if (restore !== null) await restoreNat(io.run, tools, restore);
      result = { family, action: restore === null ? 'absent' : 'removed', restore };
    } else {
      const plan = planApply(current, buildRuleSet(o, family));
      if (plan.restore !== null) await restoreNat(io.run, tools, plan.restore);
      const fresh = current.chains.length === 0 && current.jumps.length === 0;
      result = { family, action: !plan.changed ? 'unchanged' : fresh ? 'installed' : 'updated', restore: plan.restore };
    }
    io.stdout.write(`meshlet init: ${label(family)} (iptables-${env.variant}): ${result.action}\n`);
    results.push(result);
  }
  return { variant: env.variant, families: results };
}
