// The world of the GATEWAY-HTTP conformance cases: a "backends" namespace holding every
// EndpointSlice address (each served by an echo server bound to it, named after its pod), an
// "ingress" namespace running `meshlet ingress` in file mode with the Gateway address on its
// loopback, and a "client" namespace that reaches that address by a route, as a load balancer
// would deliver it. All on one bridge in a node namespace. Cases with the same pods share a
// world: load() swaps the manifests and waits for the ingress to serve them.
import type { KubeObject } from '../../controller/translate/snapshot.ts';
import type { RoutingTable } from '../../api/routing-table.ts';
import type { LabProcess, Pod } from '../support/netns.ts';
import { echoListenArgs, freeAddress } from './world-plan.ts';
import { meshlet, NODE } from './cli.ts';
import { fixture, LabWorld, openLab, tableOf, type LabParts } from './lab-world.ts';

export { NODE } from './cli.ts';

/** The address every Gateway reports (as the golden tests assume). */
export const GATEWAY_ADDRESS = '192.0.2.10';

/** The table the ingress builds from `dir`, by the same file-mode code and options. */
function ingressTableOf(dir: string): Promise<RoutingTable> {
  return tableOf(dir, { ingressAddresses: [GATEWAY_ADDRESS] });
}

export class GatewayWorld extends LabWorld {
  client!: Pod;
  #ingress: LabProcess | null = null;
  #ingressIp = '';

  private constructor(parts: LabParts) {
    super(parts);
  }

  static async create(inFile: string, objects: KubeObject[]): Promise<GatewayWorld> {
    const parts = await openLab(inFile, objects);
    const { lab, plan, configDir } = parts;
    const world = new GatewayWorld(parts);
    try {
      world.writeConfig(inFile);
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
        world.echoes.push(echo);
        starting.push(echo);
      }
      await Promise.all(starting.map((p) => p.waitForLine(/"ready":true|listening on/, 30_000)));
    } catch (err) {
      await world.destroy();
      throw err;
    }
    return world;
  }

  /** The ingress's recent log, for failure messages. */
  diagnostics(lines = 20): string {
    return `--- ingress:\n${(this.#ingress?.stderr ?? '').split('\n').slice(-lines).join('\n')}`;
  }

  /** Swaps in a case's manifests; resolves when the ingress serves its table on its ports. */
  async load(inFile: string): Promise<void> {
    this.writeConfig(inFile);
    const table = await ingressTableOf(this.configDir);
    const ports = [...new Set(table.gateways.flatMap((g) => g.ports.map((p) => p.port)))];
    const r = await this.client.exec(
      [NODE, fixture('wait-config.ts'), '--admin', `${this.#ingressIp}:15020`, '--version', table.version, '--listeners', ports.join(',')],
      { timeoutMs: 30_000, allowFail: true },
    );
    if (r.code !== 0) throw new Error(`ingress did not converge on table ${table.version}: ${r.stdout}${r.stderr}`);
  }

}
