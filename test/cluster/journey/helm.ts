// The real helm (built from its Go module by scripts/build-helm.sh into the cluster cache) run
// against the box's kubeconfig: what a user types to install meshlet.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../box/components.ts';

const run = promisify(execFile);

let helmPath: Promise<string> | undefined;

/** The helm binary's path; the build script reuses its cache (a cold build takes minutes). */
export function helmBinary(): Promise<string> {
  helmPath ??= run('bash', [join(repoRoot, 'scripts/build-helm.sh')], { maxBuffer: 64 << 20, timeout: 20 * 60_000 }).then(({ stdout }) => stdout.trim().split('\n').at(-1) ?? '');
  return helmPath;
}

export interface HelmResult {
  stdout: string;
  stderr: string;
}

/** Runs helm with the box's kubeconfig; rejects with helm's stderr on a non-zero exit. */
export async function helm(kubeconfig: string, args: string[], timeoutMs = 120_000): Promise<HelmResult> {
  const bin = await helmBinary();
  try {
    return await run(bin, [...args, '--kubeconfig', kubeconfig], { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, HELM_CACHE_HOME: join(repoRoot, '.tmp/helm/cache'), HELM_CONFIG_HOME: join(repoRoot, '.tmp/helm/config'), HELM_DATA_HOME: join(repoRoot, '.tmp/helm/data') } });
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`helm ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: err });
  }
}
