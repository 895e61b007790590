// Builds the world of one mesh conformance case in network namespaces: every EndpointSlice
// address becomes a pod (named after its targetRef, serving the echo server on the slice's
// ports), plus a client pod in the case's client namespace. Every pod gets `meshlet init` and
// the real agent in file mode (uid 1337) over a copy of the case's manifests, so requests take
// the path they take in a cluster: app → iptables → client agent → server agent → echo.
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../../controller/translate/snapshot.ts';
import { NetnsLab, type Pod } from '../support/netns.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export const NODE = process.execPath;

interface PodPlan {
  ip: string;
  name: string;
  namespace: string;
  ports: Set<number>;
}

export interface MeshWorld {
  lab: NetnsLab;
  client: Pod;
  /** pod name → the Services ("ns/name") whose endpoints include it */
  podServices: Map<string, Set<string>>;
  destroy(): Promise<void>;
}

interface SliceShape {
  metadata: { namespace?: string; labels?: Record<string, string> };
  ports?: { port?: number }[];
  endpoints?: { addresses?: string[]; targetRef?: { name?: string; namespace?: string } }[];
}

function planPods(objects: KubeObject[]): { pods: PodPlan[]; podServices: Map<string, Set<string>> } {
  const pods = new Map<string, PodPlan>();
  const podServices = new Map<string, Set<string>>();
  for (const o of objects.filter((x) => x.kind === 'EndpointSlice')) {
    const slice = o as unknown as SliceShape;
    const ns = slice.metadata.namespace ?? 'default';
    const svc = `${ns}/${slice.metadata.labels?.['kubernetes.io/service-name'] ?? '?'}`;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!ip) continue;
      const name = ep.targetRef?.name ?? `pod-${ip}`;
      const plan = pods.get(ip) ?? { ip, name, namespace: ep.targetRef?.namespace ?? ns, ports: new Set<number>() };
      for (const p of slice.ports ?? []) if (p.port) plan.ports.add(p.port);
      pods.set(ip, plan);
      (podServices.get(name) ?? podServices.set(name, new Set()).get(name)!).add(svc);
    }
  }
  return { pods: [...pods.values()], podServices };
}

async function meshPod(pod: Pod, configDir: string, namespace: string): Promise<void> {
  await pod.exec([NODE, fixture('meshlet-init.ts')], { timeoutMs: 30_000 });
  const agent = pod.spawn([NODE, fixture('real-agent.ts'), '--config', configDir, '--namespace', namespace]);
  await agent.waitForLine(/"ready":true/, 30_000);
}

/** Creates the world for `inFile` (a golden `.in.yaml`); call destroy() when done. */
export async function buildMeshWorld(inFile: string, objects: KubeObject[], clientNamespace: string): Promise<MeshWorld> {
  const { pods, podServices } = planPods(objects);
  const subnets = new Set(pods.map((p) => p.ip.split('.').slice(0, 3).join('.')));
  if (subnets.size !== 1) throw new Error(`${inFile}: pod addresses must share one /24, got ${[...subnets].join(', ')}`);
  const subnet = [...subnets][0]!;
  const used = new Set(pods.map((p) => p.ip));
  const clientIp = [5, 6, 7, 250].map((n) => `${subnet}.${n}`).find((ip) => !used.has(ip))!;

  const configDir = mkdtempSync(join(tmpdir(), 'meshlet-e2e-'));
  chmodSync(configDir, 0o755); // agents read it as uid 1337
  copyFileSync(inFile, join(configDir, 'case.yaml'));
  chmodSync(join(configDir, 'case.yaml'), 0o644);
  const lab = await NetnsLab.create({ ipv4Subnet: subnet });
  const destroy = async (): Promise<void> => {
    await lab.destroy();
    rmSync(configDir, { recursive: true, force: true });
  };
  try {
    const created = await Promise.all(pods.map(async (plan, i) => {
      const pod = await lab.addPod(`p${i}`, { ipv4: plan.ip });
      const echo = pod.spawn([NODE, fixture('echo.ts'), '--pod', plan.name, '--namespace', plan.namespace, ...[...plan.ports].flatMap((p) => ['--port', String(p)])]);
      await echo.waitForLine(/"ready":true/, 30_000);
      return { pod, plan };
    }));
    const client = await lab.addPod('client', { ipv4: clientIp });
    await Promise.all([
      ...created.map(({ pod, plan }) => meshPod(pod, configDir, plan.namespace)),
      meshPod(client, configDir, clientNamespace),
    ]);
    return { lab, client, podServices, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
