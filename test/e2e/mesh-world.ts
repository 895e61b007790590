// The world of the mesh conformance cases in network namespaces: every EndpointSlice address
// becomes a pod (named after its targetRef, serving the echo server on the slice's ports), plus
// one client pod per client namespace a case sends from. Every pod gets `meshlet init` and the
// real `meshlet agent` in file mode (uid 1337) over the case's manifests, so requests take the
// path they take in a cluster: app → iptables → client agent → server agent → echo.
// Cases whose pods are the same share one world: load() swaps the manifests (file mode applies
// them without a restart) and waits until every agent reports the new table's version.
import type { KubeObject } from '../../controller/translate/snapshot.ts';
import type { LabProcess, Pod } from '../support/netns.ts';
import { echoPortArgs, freeAddress, type WorldPlan } from './world-plan.ts';
import { agentArgs, meshlet, NODE } from './cli.ts';
import { fixture, LabWorld, openLab, tableOf, type LabParts } from './lab-world.ts';

export { NODE } from './cli.ts';


/** Pods with the same addresses, names and ports can host each other's cases. */
export function worldKey(plan: WorldPlan): string {
  return JSON.stringify(plan.pods.map((p) => [p.ip, p.name, p.namespace, [...p.ports].sort(), [...p.grpcPorts].sort()]).sort());
}

/** The table version an agent reads from `dir`, computed by the same file-mode code. */
async function versionOf(dir: string): Promise<string> {
  return (await tableOf(dir)).version;
}

async function meshPod(pod: Pod, configDir: string, namespace: string): Promise<LabProcess> {
  await pod.exec(meshlet('init'), { timeoutMs: 30_000 });
  const agent = pod.spawn(agentArgs(configDir, namespace));
  await agent.waitForLine(/listening on/, 30_000);
  return agent;
}

export class MeshWorld extends LabWorld {
  readonly #clients = new Map<string, Pod>();
  readonly #meshed: Pod[] = [];
  readonly #agents = new Map<string, LabProcess>();
  #version = '';

  private constructor(parts: LabParts) {
    super(parts);
  }

  /** Pods for every endpoint address, meshed, with the manifests of `inFile` applied. */
  static async create(inFile: string, objects: KubeObject[]): Promise<MeshWorld> {
    const parts = await openLab(inFile, objects);
    const { lab, plan, configDir } = parts;
    const world = new MeshWorld(parts);
    try {
      world.writeConfig(inFile);
      world.#version = await versionOf(configDir);
      await Promise.all(plan.pods.map(async (p, i) => {
        const pod = await lab.addPod(`p${i}`, { ipv4: p.ip });
        const echo = pod.spawn([NODE, fixture('echo.ts'), '--pod', p.name, '--namespace', p.namespace, ...echoPortArgs(p)]);
        await echo.waitForLine(/"ready":true/, 30_000);
        world.echoes.push(echo);
        world.#agents.set(`${p.namespace}/${p.name}`, await meshPod(pod, configDir, p.namespace));
        world.#meshed.push(pod);
      }));
    } catch (err) {
      await world.destroy();
      throw err;
    }
    return world;
  }

  /** The meshed client pod for a namespace (created on first use). */
  async client(namespace: string): Promise<Pod> {
    let pod = this.#clients.get(namespace);
    if (!pod) {
      const taken = [...this.#clients.values()].map((c) => c.ipv4);
      pod = await this.lab.addPod(`c${this.#clients.size}`, { ipv4: freeAddress(this.plan, taken) });
      this.#agents.set(`client in ${namespace}`, await meshPod(pod, this.configDir, namespace));
      this.#clients.set(namespace, pod);
      this.#meshed.push(pod);
    }
    return pod;
  }

  /** The agents' recent logs, for failure messages. */
  diagnostics(lines = 15): string {
    return [...this.#agents].map(([who, a]) => `--- agent of ${who}:\n${a.stderr.split('\n').slice(-lines).join('\n')}`).join('\n');
  }

  /** Swaps in another case's manifests and waits until every agent serves them. */
  async load(inFile: string): Promise<void> {
    this.writeConfig(inFile);
    this.#version = await versionOf(this.configDir);
    await this.converged();
  }

  /** Resolves once every agent reports the current table version (bounded). */
  async converged(): Promise<void> {
    const [first] = this.#meshed;
    if (!first) return;
    const args = [NODE, fixture('wait-config.ts'), '--uid', '1337', '--version', this.#version, ...this.#meshed.flatMap((p) => ['--admin', `${p.ipv4}:15020`])];
    const r = await first.exec(args, { timeoutMs: 30_000, allowFail: true });
    if (r.code !== 0) throw new Error(`agents did not converge on table ${this.#version}: ${r.stdout}${r.stderr}`);
  }

}
