// The world of one GATEWAY-HTTP conformance case: a "backends" namespace holding every
// EndpointSlice address (each served by an echo server bound to it, named after its pod), an
// "ingress" namespace running `meshlet ingress` in file mode with the Gateway address on its
// loopback, and a "client" namespace that reaches that address by a route, as a load balancer
// would deliver it. All on one bridge in a node namespace.
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../../controller/translate/snapshot.ts';
import { NetnsLab, type Pod } from '../support/netns.ts';
import { freeAddress, planWorld } from './world-plan.ts';
import { meshlet, NODE } from './cli.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export { NODE } from './cli.ts';
/** The address every Gateway reports (as the golden tests assume). */
export const GATEWAY_ADDRESS = '192.0.2.10';

export interface GatewayWorld {
  lab: NetnsLab;
  client: Pod;
  podServices: Map<string, Set<string>>;
  gatewayAddresses: Record<string, string[]>;
  destroy(): Promise<void>;
}

export async function buildGatewayWorld(inFile: string, objects: KubeObject[]): Promise<GatewayWorld> {
  const plan = planWorld(objects, inFile);
  const gateways = objects.filter((o) => o.kind === 'Gateway').map((o) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`);
  const gatewayAddresses = Object.fromEntries(gateways.map((g) => [g, [GATEWAY_ADDRESS]]));
  const ingressIp = freeAddress(plan);
  const clientIp = freeAddress(plan, [ingressIp]);
  const backendIp = freeAddress(plan, [ingressIp, clientIp]);

  const configDir = mkdtempSync(join(tmpdir(), 'meshlet-e2e-'));
  chmodSync(configDir, 0o755);
  copyFileSync(inFile, join(configDir, 'case.yaml'));
  chmodSync(join(configDir, 'case.yaml'), 0o644);
  const lab = await NetnsLab.create({ ipv4Subnet: plan.subnet });
  const destroy = async (): Promise<void> => {
    await lab.destroy();
    rmSync(configDir, { recursive: true, force: true });
  };
  try {
    const [backends, ingress, client] = await Promise.all([
      lab.addPod('backends', { ipv4: backendIp }),
      lab.addPod('ingress', { ipv4: ingressIp }),
      lab.addPod('client', { ipv4: clientIp }),
    ]);
    for (const p of plan.pods) await backends.ip(['addr', 'add', `${p.ip}/24`, 'dev', 'eth0']);
    await ingress.ip(['addr', 'add', `${GATEWAY_ADDRESS}/32`, 'dev', 'lo']);
    await client.ip(['route', 'add', `${GATEWAY_ADDRESS}/32`, 'via', ingressIp]);
    const listen = plan.pods.flatMap((p) => [...p.ports].flatMap((port) => ['--listen', `${p.name}@${p.namespace}@${p.ip}:${port}`]));
    const starting = [];
    if (listen.length > 0) starting.push(backends.spawn([NODE, fixture('echo.ts'), ...listen]));
    starting.push(ingress.spawn(meshlet('ingress', '--config', configDir, '--address', GATEWAY_ADDRESS)));
    await Promise.all(starting.map((p) => p.waitForLine(/"ready":true|listening on/, 30_000)));
    return { lab, client, podServices: plan.podServices, gatewayAddresses, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
