// Builds the world of one mesh conformance case in network namespaces: every EndpointSlice
// address becomes a pod (named after its targetRef, serving the echo server on the slice's
// ports), plus one client pod per client namespace the case sends from. Every pod gets `meshlet init` and
// the real `meshlet agent` in file mode (uid 1337) over a copy of the case's manifests, so requests take
// the path they take in a cluster: app → iptables → client agent → server agent → echo.
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../../controller/translate/snapshot.ts';
import { NetnsLab, type Pod } from '../support/netns.ts';
import { freeAddress, planWorld } from './world-plan.ts';
import { agentArgs, meshlet, NODE } from './cli.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export { NODE } from './cli.ts';

export interface MeshWorld {
  lab: NetnsLab;
  /** client namespace → the meshed pod that sends the case's requests from it */
  clients: Map<string, Pod>;
  /** pod name → the Services ("ns/name") whose endpoints include it */
  podServices: Map<string, Set<string>>;
  destroy(): Promise<void>;
}

async function meshPod(pod: Pod, configDir: string, namespace: string): Promise<void> {
  await pod.exec(meshlet('init'), { timeoutMs: 30_000 });
  const agent = pod.spawn(agentArgs(configDir, namespace));
  await agent.waitForLine(/listening on/, 30_000);
}

/** Creates the world for `inFile` (a golden `.in.yaml`); call destroy() when done. */
export async function buildMeshWorld(inFile: string, objects: KubeObject[], clientNamespaces: string[]): Promise<MeshWorld> {
  const plan = planWorld(objects, inFile);
  const { pods, podServices, subnet } = plan;
  const clientIps: string[] = [];
  for (const _ of clientNamespaces) clientIps.push(freeAddress(plan, clientIps));

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
    const created = await Promise.all(pods.map(async (podPlan, i) => {
      const pod = await lab.addPod(`p${i}`, { ipv4: podPlan.ip });
      const echo = pod.spawn([NODE, fixture('echo.ts'), '--pod', podPlan.name, '--namespace', podPlan.namespace, ...[...podPlan.ports].flatMap((p) => ['--port', String(p)])]);
      await echo.waitForLine(/"ready":true/, 30_000);
      return { pod, podPlan };
    }));
    const clients = new Map<string, Pod>();
    for (const [i, ns] of clientNamespaces.entries()) clients.set(ns, await lab.addPod(`c${i}`, { ipv4: clientIps[i]! }));
    await Promise.all([
      ...created.map(({ pod, podPlan }) => meshPod(pod, configDir, podPlan.namespace)),
      ...[...clients].map(([ns, pod]) => meshPod(pod, configDir, ns)),
    ]);
    return { lab, clients, podServices, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
