// One running container: a process in the pod's network namespace (`ip netns exec`, which also
// bind-mounts the pod's hosts file over /etc/hosts in a private mount namespace). Volumes appear
// at their mount paths by bind mounts made in that namespace; because paths such as
// /var/run/secrets/... do not exist on the host, a tmpfs is mounted over /run first, and other
// missing mount points (/etc/meshlet) are made in an overlay of the directory above them, so
// nothing is created on the host's filesystem. runAsUser/runAsGroup are applied with setpriv.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ContainerSpec } from './pod-types.ts';

export interface ContainerState {
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  signal?: string;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The nearest directory on the host that exists, at or above path. */
function existingAncestor(path: string): string {
  let dir = path;
  while (dir !== '/' && !existsSync(dir)) dir = dirname(dir);
  return dir;
}

/** The shell prologue that mounts volumes inside the container's mount namespace. */
export function mountScript(c: ContainerSpec, volumeDirs: ReadonlyMap<string, string>): string {
  const lines = ['set -e', 'mount -t tmpfs -o mode=755 meshlet-run /run'];
  const overlaid = new Set<string>();
  for (const m of c.volumeMounts ?? []) {
    const src = volumeDirs.get(m.name);
    if (!src) throw new Error(`container ${c.name}: no volume ${m.name}`);
    const target = m.mountPath.replace(/^\/var\/run\//, '/run/');
    if (!target.startsWith('/run/') && !existsSync(target)) {
      // A mount path the host lacks (the chart's /etc/meshlet): the existing directory above it
      // gets a writable overlay in this mount namespace only, so the mount point is made there
      // and nothing is created on the host's filesystem.
      const dir = existingAncestor(target);
      if (dir === '/' || dir === '/proc' || dir === '/sys' || dir === '/dev') {
        throw new Error(`container ${c.name}: mount path ${m.mountPath} needs a directory under ${dir}, which the test kubelet does not overlay`);
      }
      if (!overlaid.has(dir)) {
        overlaid.add(dir);
        const scratch = `/run/.meshlet-overlay/${overlaid.size}`;
        lines.push(`mkdir -p ${scratch}/upper ${scratch}/work`);
        // The overlay hides mounts below it: keep `ip netns exec`'s per-pod /etc/hosts.
        const keepHosts = '/etc/hosts'.startsWith(`${dir}/`);
        if (keepHosts) lines.push(`touch ${scratch}/hosts`, `mount --bind /etc/hosts ${scratch}/hosts`);
        lines.push(`mount -t overlay meshlet-overlay -o ${quote(`lowerdir=${dir},upperdir=${scratch}/upper,workdir=${scratch}/work`)} ${quote(dir)}`);
        if (keepHosts) lines.push(`mount --bind ${scratch}/hosts /etc/hosts`);
      }
    }
    lines.push(`mkdir -p ${quote(target)}`, `mount --bind ${quote(src)} ${quote(target)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${quote(target)}`);
  }
  lines.push('exec "$@"');
  return lines.join('\n');
}

export class ContainerProcess {
  readonly spec: ContainerSpec;
  readonly state: ContainerState = {};
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;

  constructor(spec: ContainerSpec, netns: string, argv: string[], env: Record<string, string>, volumeDirs: ReadonlyMap<string, string>, logPath: string) {
    this.spec = spec;
    const sc = spec.securityContext ?? {};
    const user = sc.runAsUser !== undefined && sc.runAsUser !== 0
      ? ['setpriv', `--reuid=${sc.runAsUser}`, `--regid=${sc.runAsGroup ?? sc.runAsUser}`, '--clear-groups', '--']
      : [];
    const fd = openSync(logPath, 'a');
    try {
      this.child = spawn('ip', ['netns', 'exec', netns, 'sh', '-c', mountScript(spec, volumeDirs), spec.name, ...user, ...argv], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', ...env },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    this.state.startedAt = new Date().toISOString();
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.state.finishedAt = new Date().toISOString();
        this.state.exitCode = code ?? 128 + 15;
        if (signal) this.state.signal = signal;
        resolve();
      });
      this.child.once('error', () => {
        this.state.finishedAt = new Date().toISOString();
        this.state.exitCode = 127;
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.state.finishedAt === undefined;
  }

  /** Synchronous, for process 'exit' handlers. */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** Resolves true if the process has exited within ms. */
  async exitedWithin(ms: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
    const done = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(timer);
    return done;
  }
}
