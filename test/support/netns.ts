// The e2e network lab: "pods" are network namespaces the test creates, plugged by veth pairs
// into a bridge that lives in a dedicated "node" namespace, so nothing on the host (its
// interfaces, routes, iptables) is touched. Every name carries a per-run prefix
// (mle2e<pid>x<random>); teardown kills our processes and deletes our namespaces, also on
// failure and at process exit, and a new run first removes namespaces left by dead runs.
// Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN) and iproute2.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execCommand, LabProcess, type ExecResult } from './netns-exec.ts';

export { LabProcess, type ExecResult } from './netns-exec.ts';

const PREFIX_RE = /^mle2e(\d+)x[0-9a-f]+-/;

// Labs still alive in this process, torn down synchronously if it exits or is interrupted
// (a test runner timeout sends SIGTERM) before their own destroy() ran.
const liveLabs = new Set<NetnsLab>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.destroyNow();
  });
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(sig, () => {
      for (const lab of liveLabs) lab.destroyNow();
      process.exit(code);
    });
  }
}

export interface PodAddresses {
  /** e.g. 10.244.0.10 (the bridge subnet is /24, the node is .1) */
  ipv4: string;
  /** e.g. fd00:244::10 (the bridge subnet is /64, the node is ::1) */
  ipv6?: string;
}

export interface LabOptions {
  /** First three octets of the pod subnet (default 10.244.0). */
  ipv4Subnet?: string;
  /** The /64 prefix of the pod subnet (default fd00:244:0:0). */
  ipv6Prefix?: string;
}

export class Pod {
  readonly lab: NetnsLab;
  readonly name: string;
  readonly ns: string;
  readonly ipv4: string;
  readonly ipv6: string | undefined;

  constructor(lab: NetnsLab, name: string, ns: string, addrs: PodAddresses) {
    this.lab = lab;
    this.name = name;
    this.ns = ns;
    this.ipv4 = addrs.ipv4;
    this.ipv6 = addrs.ipv6;
  }

  /** Runs argv inside this pod's namespace to completion. */
  exec(argv: readonly string[], opts?: { timeoutMs?: number; input?: string; allowFail?: boolean }): Promise<ExecResult> {
    return execCommand(['ip', 'netns', 'exec', this.ns, ...argv], opts);
  }

  /** `ip` subcommand inside the pod (e.g. ['route', 'add', ...]). */
  ip(args: readonly string[]): Promise<ExecResult> {
    return execCommand(['ip', '-n', this.ns, ...args]);
  }

  /** Starts a long-lived process in this pod; the lab stops it at teardown. */
  spawn(argv: readonly string[]): LabProcess {
    return this.lab.track(new LabProcess(['ip', 'netns', 'exec', this.ns, ...argv]));
  }
}

export class NetnsLab {
  readonly prefix: string;
  readonly nodeNs: string;
  readonly ipv4Subnet: string;
  readonly ipv6Prefix: string;
  readonly pods: Pod[] = [];
  #namespaces: string[] = [];
  #processes: LabProcess[] = [];

  private constructor(opts: LabOptions) {
    this.prefix = `mle2e${process.pid}x${randomBytes(3).toString('hex')}`;
    this.nodeNs = `${this.prefix}-node`;
    this.ipv4Subnet = opts.ipv4Subnet ?? '10.244.0';
    this.ipv6Prefix = opts.ipv6Prefix ?? 'fd00:244:0:0';
  }

  /** Builds the node namespace with bridge br0 (.1 on both subnets). */
  static async create(opts: LabOptions = {}): Promise<NetnsLab> {
    if (process.getuid?.() !== 0) throw new Error('the e2e lab needs root (network namespaces); run via `npm run test:e2e` as root');
    await sweepStaleNamespaces();
    const lab = new NetnsLab(opts);
    hookExit();
    liveLabs.add(lab);
    try {
      await lab.#addNamespace(lab.nodeNs);
      const n = ['ip', '-n', lab.nodeNs];
      await execCommand([...n, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0']);
      await execCommand([...n, 'addr', 'add', `${lab.ipv4Subnet}.1/24`, 'dev', 'br0']);
      await execCommand([...n, '-6', 'addr', 'add', `${lab.ipv6Prefix}::1/64`, 'dev', 'br0', 'nodad']);
      await execCommand([...n, 'link', 'set', 'br0', 'up']);
      // Routing between pods and towards "ClusterIPs" happens in the node, as on a real node.
      await execCommand(['ip', 'netns', 'exec', lab.nodeNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  async #addNamespace(ns: string): Promise<void> {
    await execCommand(['ip', 'netns', 'add', ns]);
    this.#namespaces.push(ns);
    await execCommand(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** A pod namespace with eth0 on the bridge, its addresses and default routes via the node. */
  async addPod(name: string, addrs: PodAddresses): Promise<Pod> {
    if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`pod name '${name}': 1-8 lowercase letters/digits`);
    const ns = `${this.prefix}-${name}`;
    await this.#addNamespace(ns);
    const host = `v${this.pods.length}${name}`.slice(0, 15); // the node-side veth end
    const n = ['ip', '-n', this.nodeNs];
    const p = ['ip', '-n', ns];
    await execCommand([...n, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await execCommand([...n, 'link', 'set', host, 'master', 'br0', 'up']);
    await execCommand([...p, 'addr', 'add', `${addrs.ipv4}/24`, 'dev', 'eth0']);
    if (addrs.ipv6) await execCommand([...p, '-6', 'addr', 'add', `${addrs.ipv6}/64`, 'dev', 'eth0', 'nodad']);
    await execCommand([...p, 'link', 'set', 'eth0', 'up']);
    await execCommand([...p, 'route', 'add', 'default', 'via', `${this.ipv4Subnet}.1`]);
    if (addrs.ipv6) await execCommand([...p, '-6', 'route', 'add', 'default', 'via', `${this.ipv6Prefix}::1`]);
    const pod = new Pod(this, name, ns, addrs);
    this.pods.push(pod);
    return pod;
  }

  /** Runs argv inside the node namespace. */
  nodeExec(argv: readonly string[]): Promise<ExecResult> {
    return execCommand(['ip', 'netns', 'exec', this.nodeNs, ...argv]);
  }

  track(proc: LabProcess): LabProcess {
    this.#processes.push(proc);
    return proc;
  }

  /** Stops our processes (bounded), then deletes our namespaces, pods before the node. */
  async destroy(): Promise<void> {
    await Promise.all(this.#processes.map((p) => p.stop()));
    for (const ns of [...this.#namespaces].reverse()) {
      await execCommand(['ip', 'netns', 'del', ns], { allowFail: true, timeoutMs: 5_000 });
    }
    this.#namespaces = [];
    this.#processes = [];
    liveLabs.delete(this);
  }

  /** Last resort at process exit or on a signal: synchronous and best effort. */
  destroyNow(): void {
    for (const p of this.#processes) if (p.running) p.child.kill('SIGKILL');
    for (const ns of [...this.#namespaces].reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5_000 });
      } catch {
        // already gone
      }
    }
    this.#namespaces = [];
    liveLabs.delete(this);
  }
}

/** Deletes namespaces of earlier runs whose process is dead (only names with our prefix). */
export async function sweepStaleNamespaces(): Promise<string[]> {
  const r = await execCommand(['ip', 'netns', 'list'], { allowFail: true });
  const removed: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = PREFIX_RE.exec(ns);
    if (!m || pidAlive(Number(m[1]))) continue;
    await execCommand(['ip', 'netns', 'del', ns], { allowFail: true, timeoutMs: 5_000 });
    removed.push(ns);
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
