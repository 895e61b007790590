// The test kubelet: registers its Node, binds every unscheduled pod to it (as the scheduler
// would, with the scheduler's identity), runs each bound pod as a network namespace on the node
// bridge (PodRunner) and reports its status; a pod marked for deletion is terminated within its
// grace period and then deleted for good, as the real kubelet confirms a deletion. It polls the
// API instead of watching: simpler, and the box's tests are small. Everything stops in stop().
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Box, BoxApi } from '../box/index.ts';
import type { NodeNetwork, ServiceProxy } from '../net/index.ts';
import { PodRunner } from './pod-runner.ts';
import { podStatus } from './pod-status.ts';
import type { Pod } from './pod-types.ts';

export interface KubeletOptions {
  box: Box;
  net: NodeNetwork;
  proxy: ServiceProxy;
  nodeName?: string;
  intervalMs?: number;
  /**
   * Where each pod's directory (its containers' logs, its volumes) goes; default a temp dir that
   * stop() removes. The journey passes the box's logs dir, so pod logs are kept with the
   * components' on failure.
   */
  podsDir?: string;
}

export interface Kubelet {
  nodeName: string;
  /** The runner of a pod this kubelet runs (by namespace/name), for logs and exec. */
  runner(namespace: string, name: string): PodRunner | undefined;
  stop(): Promise<void>;
}

type PodList = { items: Pod[] };

export async function startKubelet(opts: KubeletOptions): Promise<Kubelet> {
  const nodeName = opts.nodeName ?? 'box-node';
  const node = opts.box.clientFor(`system:node:${nodeName}`, ['system:nodes']).api;
  const scheduler = opts.box.clientFor('system:kube-scheduler', []).api;
  const interval = opts.intervalMs ?? 300;
  const hostIp = opts.net.gateway;
  const workDir = opts.podsDir ?? mkdtempSync(join(tmpdir(), `meshlet-kubelet-${opts.net.tag}-`));
  mkdirSync(workDir, { recursive: true });
  const runners = new Map<string, PodRunner>();
  const reported = new Map<string, string>();
  let nextIndex = 2;
  let stopped = false;

  // Containers are not children of a network namespace: they must be killed explicitly, also
  // when the test process ends without stop().
  const killAll = (): void => {
    for (const r of runners.values()) for (const c of r.containers) c.process?.killNow();
  };
  process.once('exit', killAll);

  await registerNode(node, nodeName, opts.net);
  const apiServerEnv = await kubernetesServiceEnv(node);

  const bindPending = async (): Promise<void> => {
    const res = await scheduler.get('/api/v1/pods?fieldSelector=spec.nodeName%3D');
    for (const pod of (res.body as PodList).items ?? []) {
      if (pod.metadata.deletionTimestamp) continue;
      await scheduler.post(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/binding`, {
        apiVersion: 'v1', kind: 'Binding', metadata: { name: pod.metadata.name, uid: pod.metadata.uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      });
    }
  };

  const syncPods = async (): Promise<void> => {
    const res = await node.get(`/api/v1/pods?fieldSelector=spec.nodeName%3D${nodeName}`);
    if (res.status !== 200) return;
    const pods = (res.body as PodList).items;
    const seen = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata.uid;
      seen.add(uid);
      let r = runners.get(uid);
      const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
      if (!r && !pod.metadata.deletionTimestamp && !terminal) {
        const index = nextIndex++;
        const net = await opts.net.addPod(index);
        opts.proxy.addHostsFile(net.hostsPath, `${net.ip} ${pod.metadata.name}`);
        r = new PodRunner(pod, { api: node, nodeName, podDir: join(workDir, `${pod.metadata.namespace}_${pod.metadata.name}_${uid.slice(0, 8)}`), net, apiServerEnv });
        runners.set(uid, r);
        void r.run();
      }
      if (pod.metadata.deletionTimestamp) {
        if (r) {
          r.pod = pod;
          const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
          void r.terminate(grace).then(() => finishDeletion(r));
        } else {
          await node.request('DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, { gracePeriodSeconds: 0, preconditions: { uid } });
        }
        continue;
      }
      if (r) await report(r);
    }
    for (const [uid, r] of runners) {
      if (!seen.has(uid)) void r.terminate(0).then(() => forget(r));
    }
  };

  const forget = (r: PodRunner): void => {
    opts.proxy.removeHostsFile(r.ctx.net.hostsPath);
    runners.delete(r.pod.metadata.uid);
    reported.delete(r.pod.metadata.uid);
  };

  const finishDeletion = async (r: PodRunner): Promise<void> => {
    if (!runners.has(r.pod.metadata.uid)) return;
    forget(r);
    await node.request('DELETE', `/api/v1/namespaces/${r.pod.metadata.namespace}/pods/${r.pod.metadata.name}`, { gracePeriodSeconds: 0, preconditions: { uid: r.pod.metadata.uid } });
  };

  const report = async (r: PodRunner): Promise<void> => {
    const status = podStatus(r, hostIp);
    const key = JSON.stringify(status);
    if (reported.get(r.pod.metadata.uid) === key) return;
    const res = await node.request('PATCH', `/api/v1/namespaces/${r.pod.metadata.namespace}/pods/${r.pod.metadata.name}/status`, { status }, { contentType: 'application/merge-patch+json' });
    if (res.status === 200) reported.set(r.pod.metadata.uid, key);
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await bindPending();
        await syncPods();
      } catch {
        // API server restarting: next round
      }
      await sleep(interval);
    }
  })();

  return {
    nodeName,
    runner(namespace, name) {
      return [...runners.values()].find((r) => r.pod.metadata.namespace === namespace && r.pod.metadata.name === name);
    },
    async stop() {
      stopped = true;
      await loop;
      await Promise.all([...runners.values()].map((r) => r.terminate(5)));
      runners.clear();
      process.removeListener('exit', killAll);
      if (!opts.podsDir) rmSync(workDir, { recursive: true, force: true });
    },
  };
}

async function registerNode(api: BoxApi, name: string, net: NodeNetwork): Promise<void> {
  const created = await api.post('/api/v1/nodes', {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
    spec: { podCIDR: net.podCidr, podCIDRs: [net.podCidr] },
  });
  if (created.status !== 201 && created.status !== 409) throw new Error(`registering Node ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  const now = new Date().toISOString();
  const res = await api.request('PATCH', `/api/v1/nodes/${name}/status`, {
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'meshlet test kubelet', lastHeartbeatTime: now, lastTransitionTime: now }],
      addresses: [{ type: 'InternalIP', address: net.gateway }, { type: 'Hostname', address: name }],
    },
  }, { contentType: 'application/merge-patch+json' });
  if (res.status !== 200) throw new Error(`Node ${name} status: ${res.status} ${JSON.stringify(res.body)}`);
}

async function kubernetesServiceEnv(api: BoxApi): Promise<Record<string, string>> {
  const res = await api.get('/api/v1/namespaces/default/services/kubernetes');
  const svc = res.body as { spec?: { clusterIP?: string; ports?: { name?: string; port: number }[] } };
  const port = svc.spec?.ports?.find((p) => p.name === 'https')?.port ?? 443;
  if (res.status !== 200 || !svc.spec?.clusterIP) throw new Error(`the kubernetes Service: ${res.status} ${JSON.stringify(res.body)}`);
  return { KUBERNETES_SERVICE_HOST: svc.spec.clusterIP, KUBERNETES_SERVICE_PORT: String(port), KUBERNETES_SERVICE_PORT_HTTPS: String(port) };
}

