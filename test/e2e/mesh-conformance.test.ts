// e2e: the MESH-HTTP and MESH-GRPC conformance cases (test/golden/conformance/mesh-http, mesh-grpc: inputs
// + hand-written expectations from the Gateway API v1.6 suite) replayed on real traffic. Meshed echo pods and
// meshed client pods (one per client namespace) run `meshlet init` and `meshlet agent` as uid
// 1337 (mesh-world.ts); the client app opens plain connections to ClusterIPs or pod IPs and the
// answers are checked as the suite would check them. Cases with the same pods share a world.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlDocuments, loadObjects } from '../support/load-yaml.ts';
import { parseExpectation } from '../golden/conformance/expectations.ts';
import { resolveTarget } from '../golden/conformance/check-requests.ts';
import { MeshWorld, NODE, worldKey } from './mesh-world.ts';
import { planWorld } from './world-plan.ts';
import { attemptsFor, checkHttpOutcome, checkMirrors, headersToSend, type HttpResult } from './check-http.ts';
import type { KubeObject } from '../../controller/translate/snapshot.ts';

const GOLDEN = fileURLToPath(new URL('../golden/conformance/', import.meta.url));
const PROFILES = ['mesh-http', 'mesh-grpc'];
const BATCH = fileURLToPath(new URL('./fixtures/http-batch.ts', import.meta.url));

interface Case { name: string; dir: string; inFile: string; objects: KubeObject[]; key: string }

// Grouped by pods, so consecutive cases share a world.
const cases: Case[] = PROFILES.flatMap((profile) => {
  const dir = join(GOLDEN, profile);
  return readdirSync(dir).filter((f) => f.endsWith('.expect.yaml')).map((f) => {
    const name = f.replace(/\.expect\.yaml$/, '');
    const inFile = join(dir, `${name}.in.yaml`);
    const objects = loadObjects(readFileSync(inFile, 'utf8'), inFile);
    return { name, dir, inFile, objects, key: worldKey(planWorld(objects, inFile)) };
  });
}).sort((a, b) => a.key.localeCompare(b.key) || a.name.localeCompare(b.name));

describe('MESH-HTTP and MESH-GRPC conformance on real interception', () => {
  let world: { key: string; world: MeshWorld } | null = null;
  after(async () => {
    await world?.world.destroy();
  });

  test('the case list is not empty', () => {
    assert.ok(cases.length >= 5, `found ${cases.length} cases in ${PROFILES.join(', ')}`);
  });

  for (const { name, dir, inFile, objects, key } of cases) {
    test(name, { timeout: 180_000 }, async () => {
      const expectFile = join(dir, `${name}.expect.yaml`);
      const [doc] = parseYamlDocuments(readFileSync(expectFile, 'utf8'), expectFile);
      const mesh = parseExpectation(doc, expectFile).requests.filter((q) => q.mesh !== null);
      assert.ok(mesh.length > 0, `${name}: no mesh requests`);
      const services = objects.filter((o) => o.kind === 'Service');
      const opts = { backendSetsResponseHeaders: /ResponseHeaderModifier/.test(name) };

      if (world?.key !== key) {
        await world?.world.destroy();
        world = null;
        world = { key, world: await MeshWorld.create(inFile, objects) };
      }
      const w = world.world;
      const namespaces = [...new Set(mesh.map((q) => q.mesh!.clientNamespace))];
      const clients = await Promise.all(namespaces.map((ns) => w.client(ns)));
      await w.load(inFile);

      const idOf = (q: (typeof mesh)[number]): string => `${name}-${mesh.indexOf(q)}`;
      const failures: string[] = [];
      // One batch per client namespace, each from its own meshed pod.
      for (const [n, ns] of namespaces.entries()) {
        const plans = mesh.filter((q) => q.mesh!.clientNamespace === ns).map((q) => ({ q, ...resolveTarget(q, services, {}) }));
        const requests = plans.map(({ q, target, authority }) => {
          if (target.kind !== 'mesh') throw new Error('mesh request expected');
          return { address: target.address, port: target.port, method: q.method, path: q.path, headers: { ...headersToSend(q, opts), host: authority }, repeat: attemptsFor(q), id: idOf(q) };
        });
        const out = await clients[n]!.exec([NODE, BATCH], { input: JSON.stringify({ requests }), timeoutMs: 120_000 });
        const { results } = JSON.parse(out.stdout) as { results: HttpResult[][] };
        for (const [i, { q, authority }] of plans.entries()) {
          const label = q.name || `${q.method} ${authority}${q.path}`;
          const found = [
            ...checkHttpOutcome(q, authority, results[i] ?? [], w.podServices, opts),
            ...(await checkMirrors(q, idOf(q), attemptsFor(q), () => w.echoOutput(), w.podServices)),
          ];
          failures.push(...found.map((f) => `${label}: ${f}`));
        }
      }
      assert.deepEqual(failures, [], failures.length > 0 ? `${failures.join('\n')}\n${w.diagnostics()}` : undefined);
    });
  }
});
