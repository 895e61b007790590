// e2e: the GATEWAY-HTTP conformance cases (test/golden/gateway-http) replayed on real traffic
// against `meshlet ingress` in file mode: a client namespace sends each expected request to the
// Gateway address on the listener port with the expected Host, and the echo backends' answers
// are checked as the suite would check them. HTTPS requests are left to the TLS tests.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlDocuments, loadObjects } from '../support/load-yaml.ts';
import { parseExpectation, type RequestExpectation } from '../golden/expectations.ts';
import { resolveTarget } from '../golden/check-requests.ts';
import { buildGatewayWorld, GATEWAY_ADDRESS, NODE } from './gateway-world.ts';
import { checkHttpOutcome, headersToSend, type HttpResult } from './check-http.ts';

const DIR = fileURLToPath(new URL('../golden/gateway-http/', import.meta.url));
const BATCH = fileURLToPath(new URL('./fixtures/http-batch.ts', import.meta.url));
const SPLIT_REQUESTS = 100;

function load(name: string): { inFile: string; requests: RequestExpectation[] } {
  const inFile = join(DIR, `${name}.in.yaml`);
  const expectFile = join(DIR, `${name}.expect.yaml`);
  const [doc] = parseYamlDocuments(readFileSync(expectFile, 'utf8'), expectFile);
  const requests = parseExpectation(doc, expectFile).requests.filter((q) => q.gateway !== null && q.scheme === 'http');
  return { inFile, requests };
}

const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.expect.yaml'))
  .map((f) => f.replace(/\.expect\.yaml$/, ''))
  .sort()
  .filter((name) => load(name).requests.length > 0);

describe('GATEWAY-HTTP conformance through meshlet ingress', () => {
  test('the case list is not empty', () => {
    assert.ok(cases.length >= 10, `found ${cases.length} cases with HTTP requests in ${DIR}`);
  });

  for (const name of cases) {
    test(name, { timeout: 120_000 }, async () => {
      const { inFile, requests: expected } = load(name);
      const objects = loadObjects(readFileSync(inFile, 'utf8'), inFile);
      const services = objects.filter((o) => o.kind === 'Service');
      const opts = { backendSetsResponseHeaders: /ResponseHeaderModifier/.test(name) };
      const world = await buildGatewayWorld(inFile, objects);
      try {
        const plans = expected.map((q) => ({ q, ...resolveTarget(q, services, world.gatewayAddresses) }));
        const requests = plans.map(({ q, target, authority }) => ({
          address: GATEWAY_ADDRESS,
          port: target.kind === 'gateway' ? target.port : 80,
          method: q.method,
          path: q.path,
          headers: { ...headersToSend(q, opts), host: authority },
          repeat: q.expect.split ? SPLIT_REQUESTS : 1,
        }));
        const out = await world.client.exec([NODE, BATCH], { input: JSON.stringify({ requests }), timeoutMs: 100_000 });
        const { results } = JSON.parse(out.stdout) as { results: HttpResult[][] };
        const failures = plans.flatMap(({ q, authority }, i) =>
          checkHttpOutcome(q, authority, results[i] ?? [], world.podServices, opts).map((f) => `${q.name || `${q.method} ${authority}${q.path}`}: ${f}`));
        assert.deepEqual(failures, []);
      } finally {
        await world.destroy();
      }
    });
  }
});
