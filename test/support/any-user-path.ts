// Paths into this checkout that another user (the agent's uid 1337) can reach. A clone under a
// directory only its owner may enter (mktemp's 0700, a private home) cannot be read by a process
// that starts as uid 1337 (an injected pod's proxy runs as that user from its first
// instruction). Then the checkout is bind-mounted once, for the run, under /run (root's, 0755),
// and unmounted when the test process exits. Where every ancestor is traversable, nothing is
// mounted and paths stay as they are.
import { spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = realpathSync(fileURLToPath(new URL('../../', import.meta.url)));
let mirror: string | null | undefined;

function traversableByOthers(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (d === path.dirname(d)) return true;
  }
}

function mirrorRoot(): string | null {
  if (mirror !== undefined) return mirror;
  if (traversableByOthers(REPO)) return (mirror = null);
  const at = `/run/meshlet-e2e-${process.pid}`;
  mkdirSync(at, { recursive: true, mode: 0o755 });
  const r = spawnSync('mount', ['--bind', REPO, at], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the checkout ${REPO} is not reachable by other users and cannot be bind-mounted for them: ${r.stderr}`);
  process.once('exit', () => {
    spawnSync('umount', ['-l', at]);
    try {
      rmdirSync(at);
    } catch { /* still busy: the lazy unmount finishes later */ }
  });
  return (mirror = at);
}

/** `p` (inside the checkout, or anywhere) as a path any user can open. */
export function forAnyUser(p: string): string {
  const real = realpathSync(p);
  if (real !== REPO && !real.startsWith(`${REPO}${path.sep}`)) return p;
  const root = mirrorRoot();
  return root ? path.join(root, path.relative(REPO, real)) : p;
}
