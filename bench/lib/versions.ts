// What ran: tool versions, kernel, CPU model, the commit measured. Recorded with every result
// because a ratio means little without knowing what it compared.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

function cmd(file: string, args: string[], cwd?: string): string {
  // nginx -v and wrk --version print to stderr (wrk also exits 1): take both streams
  const r = spawnSync(file, args, { encoding: 'utf8', cwd });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

/**
 * git's answer, or undefined when git failed (not a checkout, git missing): its error text must
 * not become the commit, which names the result file.
 */
function git(args: string[], cwd: string): string | undefined {
  const r = spawnSync('git', args, { encoding: 'utf8', cwd });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export interface Versions {
  node: string;
  nginx: string;
  haproxy: string;
  wrk: string;
  hdrHistogramJs: string;
  kernel: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  commit: string;
  commitDirty: boolean;
}

export function collectVersions(root: string, benchDir: string): Versions {
  let hdrv = 'unknown';
  try { hdrv = (JSON.parse(readFileSync(`${benchDir}/node_modules/hdr-histogram-js/package.json`, 'utf8')) as { version: string }).version; } catch { /* not installed */ }
  return {
    node: process.version,
    nginx: cmd('nginx', ['-v']).replace(/^nginx version:\s*/, ''),
    haproxy: (cmd('haproxy', ['-v']).split('\n')[0] ?? '').replace(/ - https?:\S+/, ''),
    wrk: (cmd('wrk', ['--version']).split('\n')[0] ?? '').replace(/ Copyright.*$/, ''),
    hdrHistogramJs: hdrv,
    kernel: cmd('uname', ['-sr']),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    commit: git(['rev-parse', '--short=12', 'HEAD'], root) ?? 'unknown',
    commitDirty: (git(['status', '--porcelain', '--untracked-files=no'], root) ?? '').length > 0,
  };
}
