// Talking to iptables: run the save/restore tools of one variant (nft or legacy) and choose that
// variant. Mixing them is the classic interception bug (rules in legacy tables are invisible to
// iptables-nft and both hook netfilter), so one variant is chosen per run and used for IPv4 and
// IPv6, save and restore alike.
import { spawn } from 'node:child_process';
import { IptablesCommandError, IptablesUnavailableError } from './errors.ts';
import type { Family } from './rules.ts';

export type Variant = 'nft' | 'legacy';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns `cmd args`, feeding `input` to stdin; never rejects (a missing binary gives code null). */
export type Runner = (cmd: string, args: string[], input?: string) => Promise<RunResult>;

const TIMEOUT_MS = 15_000;

export const defaultRunner: Runner = (cmd, args, input) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ code: null, stdout, stderr: stderr || err.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined); // the tool may exit before reading everything
    child.stdin.end(input ?? '');
  });

/** The binaries of one variant for one family. `plain` = the unsuffixed names (old installs). */
export interface Toolset {
  variant: Variant;
  save: string;
  restore: string;
}

export function toolset(variant: Variant, family: Family, plain: boolean): Toolset {
  const base = family === 4 ? 'iptables' : 'ip6tables';
  const suffix = plain ? '' : `-${variant}`;
  return { variant, save: `${base}${suffix}-save`, restore: `${base}${suffix}-restore` };
}

export interface VariantProbe {
  variant: Variant;
  available: boolean;
  /** `-A` lines across all tables, IPv4 and IPv6. */
  ruleCount: number;
  /** Whether any MESHLET_ chain exists already (a previous `meshlet init`). */
  hasMeshlet: boolean;
}

/**
 * Pure choice: an explicit request wins; then the variant already holding our chains (so a
 * re-run or cleanup edits what is there); then the one holding the most rules (the system is
 * using it: kube-proxy, CNI, another init); then the system default `iptables`.
 */
export function chooseVariant(probes: VariantProbe[], systemDefault: Variant | null, requested: 'auto' | Variant): Variant {
  const available = probes.filter((p) => p.available);
  if (requested !== 'auto') {
    if (!available.some((p) => p.variant === requested)) throw new IptablesUnavailableError(`iptables-${requested} is not installed`);
    return requested;
  }
  if (available.length === 0) throw new IptablesUnavailableError('neither iptables-nft nor iptables-legacy is installed');
  const prefer = (list: VariantProbe[]): Variant | undefined =>
    list.length === 0 ? undefined : (list.find((p) => p.variant === systemDefault) ?? list[0])?.variant;
  const withOurs = prefer(available.filter((p) => p.hasMeshlet));
  if (withOurs) return withOurs;
  const most = Math.max(...available.map((p) => p.ruleCount));
  if (most > 0) return prefer(available.filter((p) => p.ruleCount === most)) ?? 'nft';
  return prefer(available) ?? 'nft';
}

/** Everything the applier needs to know about the machine's iptables. */
export interface IptablesEnv {
  variant: Variant;
  /** True when only the unsuffixed tools exist (iptables < 1.8 or minimal images). */
  plain: boolean;
}

async function probe(run: Runner, variant: Variant, plain: boolean): Promise<VariantProbe> {
  const v4 = await run(toolset(variant, 4, plain).save, []);
  if (v4.code !== 0) return { variant, available: false, ruleCount: 0, hasMeshlet: false };
  const v6 = await run(toolset(variant, 6, plain).save, []);
  const text = v4.stdout + (v6.code === 0 ? v6.stdout : '');
  const ruleCount = text.split('\n').filter((l) => /^(\[\d+:\d+\] )?-A /.test(l)).length;
  return { variant, available: true, ruleCount, hasMeshlet: /^:MESHLET_/m.test(text) };
}

/** Which variant `iptables` itself is: "iptables v1.8.9 (nf_tables)" or "(legacy)". */
async function systemDefault(run: Runner): Promise<Variant | null> {
  const r = await run('iptables', ['--version']);
  if (r.code !== 0) return null;
  return /nf_tables/.test(r.stdout) ? 'nft' : 'legacy';
}

export async function detectIptables(run: Runner, requested: 'auto' | Variant): Promise<IptablesEnv> {
  const probes = [await probe(run, 'nft', false), await probe(run, 'legacy', false)];
  const fallback = await systemDefault(run);
  if (!probes.some((p) => p.available)) {
    // Old or minimal installs ship only `iptables-save`; its variant is whatever `iptables` is.
    if (fallback === null) throw new IptablesUnavailableError('iptables is not installed (apt-get install iptables)');
    if (requested !== 'auto' && requested !== fallback) throw new IptablesUnavailableError(`iptables-${requested} is not installed`);
    return { variant: fallback, plain: true };
  }
  return { variant: chooseVariant(probes, fallback, requested), plain: false };
}

export async function saveNat(run: Runner, tools: Toolset): Promise<string> {
  const r = await run(tools.save, ['-t', 'nat']);
  if (r.code !== 0) throw new IptablesCommandError(`${tools.save} -t nat`, r.stderr);
  return r.stdout;
}

export async function restoreNat(run: Runner, tools: Toolset, input: string): Promise<void> {
  const r = await run(tools.restore, ['--noflush'], input);
  if (r.code !== 0) throw new IptablesCommandError(`${tools.restore} --noflush`, r.stderr);
}
