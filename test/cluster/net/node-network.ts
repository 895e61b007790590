// The node's pod network: one bridge in the host namespace with a per-run /24 pod subnet (the
// bridge holds .1, pods get .2 and up) and a per-run service range, so parallel runs never share
// a bridge, an address or a ClusterIP. The API server binds the bridge address, which is how
// pods reach it. Pods are network namespaces plugged into the bridge by veth pairs; their names
// carry the run's prefix so a crashed run's leftovers are recognisable.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { execCommand } from '../../support/netns-exec.ts';

export interface NodeNetwork {
  /** Short per-run tag used in every name this run creates (bridge, veths, netns, chains). */
  tag: string;
  bridge: string;
  /** e.g. 10.244.37 (a /24) */
  subnet: string;
  gateway: string;
  podCidr: string;
  serviceCidr: string;
  /** Addresses the box's load balancer hands to LoadBalancer Services, e.g. 10.245.37 (a /24). */
  loadBalancerPrefix: string;
  addPod(index: number): Promise<PodNetwork>;
  destroy(): Promise<void>;
}

export interface PodNetwork {
  netns: string;
  ip: string;
  /** The hosts file `ip netns exec` bind-mounts over /etc/hosts in this pod (rewritten in place). */
  hostsPath: string;
  destroy(): Promise<void>;
}

async function usedThirdOctets(): Promise<Set<number>> {
  const r = await execCommand(['ip', '-4', 'route', 'show'], { allowFail: true });
  return new Set([...r.stdout.matchAll(/^10\.(?:244|96|245)\.(\d+)\.0\/24/gm)].map((m) => Number(m[1])));
}

export async function createNodeNetwork(): Promise<NodeNetwork> {
  if (process.getuid?.() !== 0) throw new Error('the test kubelet needs root (network namespaces, iptables)');
  const used = await usedThirdOctets();
  const free = Array.from({ length: 250 }, (_, i) => i + 1).filter((n) => !used.has(n));
  const octet = free[randomBytes(1)[0]! % free.length];
  if (octet === undefined) throw new Error('no free 10.244.x.0/24 pod subnet');
  const tag = `mlk${randomBytes(3).toString('hex')}`;
  const bridge = `${tag}br`;
  const subnet = `10.244.${octet}`;
  const gateway = `${subnet}.1`;
  const netnsNames: string[] = [];
  await execCommand(['ip', 'link', 'add', bridge, 'type', 'bridge', 'forward_delay', '0']);
  try {
    await execCommand(['ip', 'addr', 'add', `${gateway}/24`, 'dev', bridge]);
    await execCommand(['ip', 'link', 'set', bridge, 'up']);
    // Service and load-balancer addresses route onto the bridge too: one without a DNAT rule
    // (not programmed yet) then goes nowhere instead of out of the default route, off the box.
    for (const cidr of [`10.96.${octet}.0/24`, `10.245.${octet}.0/24`]) await execCommand(['ip', 'route', 'add', cidr, 'dev', bridge]);
    // ClusterIP traffic from pods is DNATed and routed back onto the bridge by the host.
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  } catch (err) {
    await execCommand(['ip', 'link', 'del', bridge], { allowFail: true });
    throw err;
  }
  const killNow = (): void => {
    for (const ns of netnsNames) rmNetnsSync(ns);
    try {
      execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore', timeout: 5000 });
    } catch {
      // already gone
    }
  };
  process.once('exit', killNow);
  hookSignals();
  return {
    tag,
    bridge,
    subnet,
    gateway,
    podCidr: `${subnet}.0/24`,
    serviceCidr: `10.96.${octet}.0/24`,
    loadBalancerPrefix: `10.245.${octet}`,
    async addPod(index) {
      if (index < 2 || index > 254) throw new Error(`pod index ${index} outside the /24`);
      const netns = `${tag}-p${index}`;
      const veth = `${tag}v${index}`;
      const ip = `${subnet}.${index}`;
      await execCommand(['ip', 'netns', 'add', netns]);
      netnsNames.push(netns);
      const hostsDir = `/etc/netns/${netns}`;
      mkdirSync(hostsDir, { recursive: true });
      const hostsPath = `${hostsDir}/hosts`;
      writeFileSync(hostsPath, `127.0.0.1 localhost\n${ip} ${netns}\n`);
      await execCommand(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
      await execCommand(['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      await execCommand(['ip', 'link', 'set', veth, 'master', bridge, 'up']);
      await execCommand(['ip', '-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      await execCommand(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
      await execCommand(['ip', '-n', netns, 'route', 'add', 'default', 'via', gateway]);
      return {
        netns,
        ip,
        hostsPath,
        async destroy() {
          await execCommand(['ip', 'netns', 'del', netns], { allowFail: true, timeoutMs: 5000 });
          rmSync(hostsDir, { recursive: true, force: true });
          netnsNames.splice(netnsNames.indexOf(netns), 1);
        },
      };
    },
    async destroy() {
      process.removeListener('exit', killNow);
      for (const ns of [...netnsNames]) rmNetnsSync(ns);
      netnsNames.length = 0;
      await execCommand(['ip', 'link', 'del', bridge], { allowFail: true, timeoutMs: 5000 });
    },
  };
}

let signalsHooked = false;

/** A runner's timeout or ^C sends a signal: exit through 'exit' so every sync cleanup runs. */
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) process.once(sig, () => process.exit(code));
}

function rmNetnsSync(ns: string): void {
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // already gone
  }
  rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
}
