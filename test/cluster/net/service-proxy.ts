// The box's kube-proxy and DNS: polls Services and EndpointSlices (as system:kube-proxy), keeps a
// per-run nat chain of ClusterIP DNAT rules hooked into PREROUTING and OUTPUT (and a filter chain
// refusing ClusterIP ports without endpoints, as kube-proxy does), masquerades DNATed
// traffic onto the bridge (no br_netfilter: without it the reply would bypass conntrack), and
// rewrites every pod's hosts file in place so names follow Services created after a pod started.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BoxApi } from '../box/index.ts';
import { execCommand } from '../../support/netns-exec.ts';
import { dnatRules, hostsLines, rejectRules, type EndpointSliceLike, type ServiceLike } from './service-rules.ts';
import type { NodeNetwork } from './node-network.ts';

export interface ServiceProxy {
  /** Registers a pod's hosts file (its own name line first) to keep current. */
  addHostsFile(path: string, own: string): void;
  removeHostsFile(path: string): void;
  /** Resolves once the rules reflect the API as of now (one more sync after the call). */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

const iptables = (args: string[]): Promise<unknown> => execCommand(['iptables', '-w', '5', '-t', 'nat', ...args]);
const filter = (args: string[]): Promise<unknown> => execCommand(['iptables', '-w', '5', '-t', 'filter', ...args]);
/** Replaces a chain's rules atomically (the other chains of the table are left alone). */
const restore = (table: string, chain: string, rules: string[][]): Promise<unknown> =>
  execCommand(['iptables-restore', '-w', '5', '--noflush'], { input: [`*${table}`, `-F ${chain}`, ...rules.map((r) => `-A ${chain} ${r.join(' ')}`), 'COMMIT', ''].join('\n') });

export async function startServiceProxy(api: BoxApi, net: NodeNetwork, intervalMs = 300): Promise<ServiceProxy> {
  const chain = `${net.tag.toUpperCase()}-SVC`;
  const post = `${net.tag.toUpperCase()}-POST`;
  const reject = `${net.tag.toUpperCase()}-REJ`;
  // New connections to a ClusterIP port without endpoints are refused (from pods: FORWARD; from
  // the node: OUTPUT). DNATed ones no longer carry the ClusterIP by then, so they pass.
  const filterHooks: [string, string[]][] = [
    ['FORWARD', ['-m', 'conntrack', '--ctstate', 'NEW', '-j', reject]],
    ['OUTPUT', ['-m', 'conntrack', '--ctstate', 'NEW', '-j', reject]],
  ];
  const hooks: [string, string[]][] = [
    ['PREROUTING', ['-j', chain]],
    ['OUTPUT', ['-j', chain]],
    ['POSTROUTING', ['-j', post]],
  ];
  await iptables(['-N', chain]);
  await iptables(['-N', post]);
  await iptables(['-A', post, '-o', net.bridge, '-m', 'conntrack', '--ctstate', 'DNAT', '-j', 'MASQUERADE']);
  for (const [from, jump] of hooks) await iptables(['-I', from, ...jump]);
  await filter(['-N', reject]);
  for (const [from, jump] of filterHooks) await filter(['-I', from, ...jump]);
  // If the test process ends without stop(), the host must not keep our rules.
  const removeNow = (): void => {
    const run = (args: string[], table = 'nat'): void => {
      try {
        execFileSync('iptables', ['-w', '5', '-t', table, ...args], { stdio: 'ignore', timeout: 5000 });
      } catch {
        // already gone
      }
    };
    for (const [from, jump] of hooks) run(['-D', from, ...jump]);
    for (const c of [chain, post]) for (const op of ['-F', '-X']) run([op, c]);
    for (const [from, jump] of filterHooks) run(['-D', from, ...jump], 'filter');
    for (const op of ['-F', '-X']) run([op, reject], 'filter');
  };
  process.once('exit', removeNow);
  const hostsFiles = new Map<string, string>();
  let lastRules = '';
  let lastHosts = '';
  let generation = 0;
  let stopped = false;

  const syncOnce = async (): Promise<void> => {
    const [svcRes, sliceRes] = await Promise.all([api.get('/api/v1/services'), api.get('/apis/discovery.k8s.io/v1/endpointslices')]);
    if (svcRes.status !== 200 || sliceRes.status !== 200) throw new Error(`service proxy: list failed (${svcRes.status}, ${sliceRes.status})`);
    const services = (svcRes.body as { items: ServiceLike[] }).items;
    const slices = (sliceRes.body as { items: EndpointSliceLike[] }).items;
    const rules = dnatRules(services, slices);
    const rejects = rejectRules(services, slices);
    const key = JSON.stringify([rules, rejects]);
    if (key !== lastRules) {
      // Flush and refill each chain in one iptables-restore transaction: a connection made
      // between a flush and the refill would meet no rule (to a load-balancer address it then
      // left by the default route; the journey saw a foreign server answer).
      await restore('nat', chain, rules);
      await restore('filter', reject, rejects);
      lastRules = key;
    }
    const hosts = hostsLines(services).join('\n');
    if (hosts !== lastHosts) {
      lastHosts = hosts;
      for (const [path, own] of hostsFiles) writeHosts(path, own, hosts);
    }
  };
  const writeHosts = (path: string, own: string, hosts: string): void => {
    try {
      // In place (same inode): the file is bind-mounted into running pods.
      writeFileSync(path, `127.0.0.1 localhost\n${own}\n${hosts}\n`);
    } catch {
      // the pod is being torn down
    }
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await syncOnce();
        generation++;
      } catch {
        // the API server may be restarting: try again next round
      }
      await sleep(intervalMs);
    }
  })();

  return {
    addHostsFile(path, own) {
      hostsFiles.set(path, own);
      writeHosts(path, own, lastHosts);
    },
    removeHostsFile(path) {
      hostsFiles.delete(path);
    },
    async synced() {
      const target = generation + 2;
      for (let i = 0; i < 200 && generation < target && !stopped; i++) await sleep(50);
    },
    async stop() {
      stopped = true;
      await loop;
      process.removeListener('exit', removeNow);
      removeNow();
    },
  };
}
