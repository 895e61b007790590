// What ran: tool versions, kernel, CPU model, the commit measured. Recorded with every result
// because a ratio means little without knowing what it compared.
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * The commit a copy of the tree says it is, when git cannot: `MESHLET_BENCH_COMMIT` (set by
 * whoever made the copy), else the id `git archive` wrote into bench/lib/archive-commit.txt
 * (export-subst in .gitattributes; a checkout holds the unexpanded placeholder, which is no hash).
 */
export const COMMIT_ENV = 'MESHLET_BENCH_COMMIT';
const HASH = /^[0-9a-f]{7,40}$/;

function commitOf(root: string): { commit: string; dirty: boolean; source: 'git' | 'env' | 'archive' | 'none' } {
  // Only the checkout whose top is `root`: a copy extracted inside another checkout (say under
  // its .tmp/) must not be named after that checkout's HEAD.
  const top = git(['rev-parse', '--show-toplevel'], root);
  const head = top !== undefined && realpathSync(top) === realpathSync(root) ? git(['rev-parse', '--short=12', 'HEAD'], root) : undefined;
  if (head !== undefined) return { commit: head, dirty: (git(['status', '--porcelain', '--untracked-files=no'], root) ?? '').length > 0, source: 'git' };
  const env = process.env[COMMIT_ENV]?.trim().toLowerCase();
  if (env !== undefined && env !== '') {
    if (!HASH.test(env)) throw new Error(`${COMMIT_ENV}='${env}' is not a commit id (7 to 40 hex digits)`);
    return { commit: env.slice(0, 12), dirty: false, source: 'env' };
  }
  let archived = '';
  try { archived = readFileSync(join(root, 'bench', 'lib', 'archive-commit.txt'), 'utf8').trim(); } catch { /* not in this tree */ }
  // An archive cannot say whether it was edited after extraction: clean as far as we can know.
  if (HASH.test(archived)) return { commit: archived.slice(0, 12), dirty: false, source: 'archive' };
  return { commit: 'unknown', dirty: false, source: 'none' };
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
  /** Where the commit came from: the checkout, MESHLET_BENCH_COMMIT, a `git archive`'s id, or nowhere (absent in results written before). */
  commitSource?: 'git' | 'env' | 'archive' | 'none';
}

export function collectVersions(root: string, benchDir: string): Versions {
  let hdrv = 'unknown';
  const c = commitOf(root);
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
    commit: c.commit,
    commitDirty: c.dirty,
    commitSource: c.source,
  };
}
