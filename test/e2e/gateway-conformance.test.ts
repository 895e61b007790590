// e2e: the GATEWAY-HTTP and GATEWAY-GRPC conformance cases (test/golden/conformance/gateway-http,
// gateway-grpc) replayed on real traffic
// against `meshlet ingress` in file mode: a client namespace sends each expected request to the
// Gateway address on the listener port with the expected Host, and the echo backends' answers
// are checked as the suite would check them. HTTPS requests are left to the TLS tests. Cases
// run grouped by their pods, so each group shares one world.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlDocuments, loadObjects } from '../support/load-yaml.ts';
import { parseExpectation, type RequestExpectation } from '../golden/conformance/expectations.ts';
import { resolveTarget } from '../golden/conformance/check-requests.ts';
import type { KubeObject } from '../../controller/translate/snapshot.ts';
import { GatewayWorld, GATEWAY_ADDRESS, NODE } from './gateway-world.ts';
import { worldKey } from './mesh-world.ts';
import { planWorld } from './world-plan.ts';
import { attemptsFor, checkHttpOutcome, checkMirrors, headersToSend, type HttpResult } from './check-http.ts';

const GOLDEN = fileURLToPath(new URL('../golden/conformance/', import.meta.url));
const PROFILES = ['gateway-http', 'gateway-grpc'];
const BATCH = fileURLToPath(new URL('./fixtures/http-batch.ts', import.meta.url));

interface Case { name: string; inFile: string; objects: KubeObject[]; requests: RequestExpectation[]; key: string }

function load(dir: string, name: string): Case {
  const inFile = join(dir, `${name}.in.yaml`);
  const expectFile = join(dir, `${name}.expect.yaml`);
  const [doc] = parseYamlDocuments(readFileSync(expectFile, 'utf8'), expectFile);
  const requests = parseExpectation(doc, expectFile).requests.filter((q) => q.gateway !== null && q.scheme === 'http');
  const objects = loadObjects(readFileSync(inFile, 'utf8'), inFile);
  return { name, inFile, objects, requests, key: worldKey(planWorld(objects, inFile)) };
}

const cases = PROFILES
  .flatMap((profile) => readdirSync(join(GOLDEN, profile))
    .filter((f) => f.endsWith('.expect.yaml'))
    .map((f) => load(join(GOLDEN, profile), f.replace(/\.expect\.yaml$/, ''))))
  .filter((c) => c.requests.length > 0)
  .sort((a, b) => a.key.localeCompare(b.key) || a.name.localeCompare(b.name));

describe('GATEWAY-HTTP and GATEWAY-GRPC conformance through meshlet ingress', () => {
  let world: { key: string; world: GatewayWorld } | null = null;
  after(async () => {
    await world?.world.destroy();
  });

  test('the case list is not empty', () => {
    assert.ok(cases.length >= 10, `found ${cases.length} cases with HTTP requests in ${PROFILES.join(', ')}`);
  });

  for (const c of cases) {
    test(c.name, { timeout: 120_000 }, async () => {
      if (world?.key !== c.key) {
        await world?.world.destroy();
        world = null;
        world = { key: c.key, world: await GatewayWorld.create(c.inFile, c.objects) };
      }
      const w = world.world;
      await w.load(c.inFile);
      const services = c.objects.filter((o) => o.kind === 'Service');
      const gatewayAddresses = Object.fromEntries(c.objects.filter((o) => o.kind === 'Gateway').map((o) => [`${o.metadata.namespace ?? 'default'}/${o.metadata.name}`, [GATEWAY_ADDRESS]]));
      const opts = { backendSetsResponseHeaders: /ResponseHeaderModifier/.test(c.name) };
      const plans = c.requests.map((q) => ({ q, ...resolveTarget(q, services, gatewayAddresses) }));
      const idOf = (q: RequestExpectation): string => `${c.name}-${c.requests.indexOf(q)}`;
      const requests = plans.map(({ q, target, authority }) => ({
        address: GATEWAY_ADDRESS,
        port: target.kind === 'gateway' ? target.port : 80,
        method: q.method,
        path: q.path,
        headers: { ...headersToSend(q, opts), host: authority },
        repeat: attemptsFor(q),
        id: idOf(q),
      }));
      const out = await w.client.exec([NODE, BATCH], { input: JSON.stringify({ requests }), timeoutMs: 100_000 });
      const { results } = JSON.parse(out.stdout) as { results: HttpResult[][] };
      const failures: string[] = [];
      for (const [i, { q, authority }] of plans.entries()) {
        const label = q.name || `${q.method} ${authority}${q.path}`;
        const found = [
          ...checkHttpOutcome(q, authority, results[i] ?? [], w.podServices, opts),
          ...(await checkMirrors(q, idOf(q), attemptsFor(q), () => w.echoOutput(), w.podServices)),
        ];
        failures.push(...found.map((f) => `${label}: ${f}`));
      }
      assert.deepEqual(failures, [], failures.length > 0 ? `${failures.join('\n')}\n${w.diagnostics()}` : undefined);
    });
  }
});
