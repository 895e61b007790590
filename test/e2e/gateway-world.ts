// The world of the GATEWAY-HTTP conformance cases: a "backends" namespace holding every
// EndpointSlice address (each served by an echo server bound to it, named after its pod), an
// "ingress" namespace running `meshlet ingress` in file mode with the Gateway address on its
// loopback, and a "client" namespace that reaches that address by a route, as a load balancer
// would deliver it. All on one bridge in a node namespace. Cases with the same pods share a
// world: load() swaps the manifests and waits for the ingress to serve them.
import { chmodSync, copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../../controller/translate/snapshot.ts';
import type { RoutingTable } from '../../api/routing-table.ts';
import { FileTableSource } from '../../cli/file-table-source.ts';
import { NetnsLab, type LabProcess, type Pod } from '../support/netns.ts';
import { echoListenArgs, freeAddress, planWorld, type WorldPlan } from './world-plan.ts';
import { meshlet, NODE } from './cli.ts';

export { NODE } from './cli.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
/** The address every Gateway reports (as the golden tests assume). */
export const GATEWAY_ADDRESS = '192.0.2.10';

/** The table the ingress builds from `dir`, by the same file-mode code and options. */
async function tableOf(dir: string): Promise<RoutingTable> {
  const source = new FileTableSource({ dir, log: () => undefined, ingressAddresses: [GATEWAY_ADDRESS] }).start();
  try {
    return await source.ready(10_000);
  } finally {
    source.close();
  }
}

export class GatewayWorld {
  readonly lab: NetnsLab;
  readonly plan: WorldPlan;
  readonly configDir: string;
  client!: Pod;
  readonly #echoes: LabProcess[] = [];
  #ingress: LabProcess | null = null;
  #ingressIp = '';

  private constructor(lab: NetnsLab, plan: WorldPlan, configDir: string) {
    this.lab = lab;
    this.plan = plan;
    this.configDir = configDir;
  }

  get podServices(): Map<string, Set<string>> {
    return this.plan.podServices;
  }

  /** What the echo backends printed so far (their {"seen": id} lines tell who got what). */
  echoOutput(): string[] {
    return this.#echoes.map((e) => e.stdout);
  }

  static async create(inFile: string, objects: KubeObject[]): Promise<GatewayWorld> {
    const plan = planWorld(objects, inFile);
    const configDir = mkdtempSync(join(tmpdir(), 'meshlet-e2e-'));
    chmodSync(configDir, 0o755);
    const lab = await NetnsLab.create({ ipv4Subnet: plan.subnet });
    const world = new GatewayWorld(lab, plan, configDir);
    try {
      world.#writeConfig(inFile);
      const ingressIp = freeAddress(plan);
      const clientIp = freeAddress(plan, [ingressIp]);
      const backendIp = freeAddress(plan, [ingressIp, clientIp]);
      world.#ingressIp = ingressIp;
      const [backends, ingress, client] = await Promise.all([
        lab.addPod('backends', { ipv4: backendIp }),
        lab.addPod('ingress', { ipv4: ingressIp }),
        lab.addPod('client', { ipv4: clientIp }),
      ]);
      world.client = client;
      for (const p of plan.pods) await backends.ip(['addr', 'add', `${p.ip}/24`, 'dev', 'eth0']);
      await ingress.ip(['addr', 'add', `${GATEWAY_ADDRESS}/32`, 'dev', 'lo']);
      await client.ip(['route', 'add', `${GATEWAY_ADDRESS}/32`, 'via', ingressIp]);
      const listen = echoListenArgs(plan.pods);
      world.#ingress = ingress.spawn(meshlet('ingress', '--config', configDir, '--address', GATEWAY_ADDRESS));
      const starting = [world.#ingress];
      if (listen.length > 0) {
        const echo = backends.spawn([NODE, fixture('echo.ts'), ...listen]);
        world.#echoes.push(echo);
        starting.push(echo);
      }
      await Promise.all(starting.map((p) => p.waitForLine(/"ready":true|listening on/, 30_000)));
    } catch (err) {
      await world.destroy();
      throw err;
    }
    return world;
  }

  #writeConfig(inFile: string): void {
    const tmp = join(this.configDir, '.case.yaml.tmp');
    copyFileSync(inFile, tmp);
    chmodSync(tmp, 0o644);
    renameSync(tmp, join(this.configDir, 'case.yaml'));
  }

  /** The ingress's recent log, for failure messages. */
  diagnostics(lines = 20): string {
    return `--- ingress:\n${(this.#ingress?.stderr ?? '').split('\n').slice(-lines).join('\n')}`;
  }

  /** Swaps in a case's manifests; resolves when the ingress serves its table on its ports. */
  async load(inFile: string): Promise<void> {
    this.#writeConfig(inFile);
    const table = await tableOf(this.configDir);
    const ports = [...new Set(table.gateways.flatMap((g) => g.ports.map((p) => p.port)))];
    const r = await this.client.exec(
      [NODE, fixture('wait-config.ts'), '--admin', `${this.#ingressIp}:15020`, '--version', table.version, '--listeners', ports.join(',')],
      { timeoutMs: 30_000, allowFail: true },
    );
    if (r.code !== 0) throw new Error(`ingress did not converge on table ${table.version}: ${r.stdout}${r.stderr}`);
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
    rmSync(this.configDir, { recursive: true, force: true });
  }
}
