// Issue 14's "0/1 proxies at generation 1" (journey step 5a). The client proxy sits on the
// replica that does not lead, got there by a resume with no subscriptions (its table version
// unchanged, nothing sent), then subscribed on demand to a Service whose HTTPRoute came later.
// Two things kept the leader's count from being right:
// - an endpoint-only change re-sends the proxy's slice, and until it acknowledged, its replica
//   recorded it as behind on the route (whose rules had not changed): the leader wrote "0/1";
// - once such a dip ("0/1", or "0/0" while the proxy reconnects) was written, the way back to the
//   "1/1" the status writer's snapshot still held (route status updates make no snapshot) was
//   skipped as unchanged: the API kept the dip until some other change made a snapshot.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeApiServer, type FakeApiServer, type FakeObject } from '../support/fake-apiserver/index.ts';
import { startEchoServer } from '../support/echo-server.ts';
import { switchableService, type SwitchableService } from '../support/switchable-service.ts';
import { waitFor } from '../support/wait-for.ts';
import { routeFingerprints } from '../../controller/publish/route-generations.ts';
import { GW, routeConds, twoReplicas, type TwoReplicas } from './controller-harness.ts';
import { startAgent, type MeshAgent } from './distribution-world.ts';

const dest = { address: '10.96.0.20', port: 9080 };
const KEY = 'meshlet.dev/mesh-controller reviews';
const ROUTE = { kind: 'HTTPRoute', namespace: 'default', name: 'reviews' };
// The non-leader writes its record at most every 300 ms (renewed every 5 s, as by default): a
// change of its agents stays on the record that long, long enough for the leader (reads every
// 50 ms, rewrites statuses 50 ms after a change) to write it, as the default 1 s does.
const REPLICA_ACKS = { renewMs: 5_000, pollMs: 50, minWriteIntervalMs: 300 };
const ROUNDS = 3;

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const endpointSlice = (port: number, extra: string[]): FakeObject => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'reviews-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'reviews' } },
  addressType: 'IPv4', ports: [{ name: 'http', port, protocol: 'TCP' }],
  endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }, ...extra.map((a) => ({ addresses: [a], conditions: { ready: false } }))],
});

const propagated = (api: FakeApiServer): string | undefined =>
  (routeConds(api, 'reviews', 'default')[KEY]?.find((c) => c.type === 'meshlet.dev/Propagated') as { message?: string } | undefined)?.message;

interface World extends TwoReplicas {
  api: FakeApiServer;
  echoPort: number;
  svc: SwitchableService;
  agent: MeshAgent;
  /** Every Propagated message the API held, in order. */
  messages: string[];
  describe: () => string;
  /** `1/1 proxies at generation N`, N the route's generation on the leader. */
  settled: () => string;
}

/**
 * Two replicas, a leading; the agent connects to a with no subscriptions, moves to b by a resume
 * (same version: nothing sent), calls reviews (an on-demand subscription, no route yet), and then
 * the route is created: until "1/1" is written.
 */
async function world(): Promise<World> {
  const echo = await startEchoServer({ pod: 'reviews-0', namespace: 'default' });
  cleanup.push(() => echo.close());
  const api = await startFakeApiServer({ objects: [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'default' }, spec: { clusterIP: dest.address, ports: [{ name: 'http', port: 9080, targetPort: echo.port, protocol: 'TCP' }] } },
    endpointSlice(echo.port, []),
  ] });
  cleanup.push(() => api.close());
  const { a, b, pubA, pubB } = await twoReplicas(api, REPLICA_ACKS, cleanup);
  const messages: string[] = [];
  const timer = setInterval(() => {
    const m = propagated(api);
    if (m && m !== messages.at(-1)) messages.push(m);
  }, 5);
  cleanup.push(() => clearInterval(timer));
  const describe = (): string => `written: ${messages.join(' | ')}\n${[...a.logs, ...b.logs].join('\n')}`;

  const svc = await switchableService();
  cleanup.push(() => svc.close());
  svc.target = pubA.port;
  const agent = await startAgent({ url: `ws://127.0.0.1:${svc.port}`, pod: 'productpage-0', dest });
  cleanup.push(() => agent.close());
  assert.equal(pubA.agents().length, 1);
  svc.target = pubB.port;
  svc.drop();
  await waitFor('the agent resumed on b', () => agent.client.stats.resumes === 1 && pubB.agents().length === 1, { timeoutMs: 5000 });
  assert.equal(pubB.agents()[0]!.subscriptions, 0);
  assert.ok(!b.elector?.isLeader, 'b does not write statuses');

  assert.equal((await agent.get()).echo?.pod, 'reviews-0');
  api.create({ apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'reviews', namespace: 'default' },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }], rules: [{ backendRefs: [{ name: 'reviews', port: 9080 }] }] } });
  const settled = (): string => `1/1 proxies at generation ${pubA.propagation(ROUTE).generation}`;
  await waitFor('1/1 once the route reached the agent on b', () => propagated(api) === settled(), { timeoutMs: 5000, describe });
  return { api, a, b, pubA, pubB, echoPort: echo.port, svc, agent, messages, describe, settled };
}

/**
 * A change that is not an endpoint's: the leader translates, and its status writer's snapshot
 * holds the route with the "1/1" it wrote. Both replicas then have the same fingerprint of the
 * route, the one a table built from scratch gives.
 */
async function unrelatedChange(w: World, n: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 100)); // the "1/1" write's watch event reaches the caches
  w.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: `other-${n}`, namespace: 'default' }, spec: { clusterIP: `10.96.1.${n + 1}`, ports: [{ port: 80, protocol: 'TCP' }] } });
  await waitFor('both replicas translated it', () => [w.pubA, w.pubB].every((p) => p.table!.services.some((s) => s.serviceName === `other-${n}`)), { timeoutMs: 3000 });
  const key = 'HTTPRoute/default/reviews';
  const fromScratch = routeFingerprints(w.pubA.table!).get(key);
  assert.ok(fromScratch);
  assert.deepEqual([w.pubA.routeFingerprint(key), w.pubB.routeFingerprint(key)], [fromScratch, fromScratch], 'one fingerprint of the route on both replicas');
}

test('endpoint-only changes on the non-leader: its proxy counts as running the route while it has not yet acknowledged the new endpoints, and the route\'s generation stays', async () => {
  const w = await world();
  const generation = w.pubA.propagation(ROUTE).generation;
  const extra: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await unrelatedChange(w, round);
    // The agent's copy of b's endpoint patch is held on the way, as on a slow network.
    w.svc.hold = true;
    extra.push(`127.0.1.${round + 1}`);
    w.api.update(endpointSlice(w.echoPort, extra));
    await waitFor(`round ${round}: b sent the endpoint change, not yet acknowledged`, () => {
      const s = w.pubB.agents()[0];
      return !!s && s.sentVersion !== s.ackedVersion && w.pubB.table!.backends.some((be) => be.endpoints.length === extra.length + 1);
    }, { timeoutMs: 3000, describe: w.describe });
    // Long enough for b to record it (300 ms), a to read it (50 ms) and rewrite statuses (50 ms).
    const from = w.messages.length;
    await new Promise((r) => setTimeout(r, 800));
    assert.deepEqual(w.messages.slice(from), [], `round ${round}: nothing rewritten while the endpoints travel: ${w.describe()}`);
    assert.equal(propagated(w.api), `1/1 proxies at generation ${generation}`);
    w.svc.hold = false;
    await waitFor(`round ${round}: the agent acknowledged b's endpoint change`, () => {
      const s = w.pubB.agents()[0];
      return !!s && s.sentVersion === s.ackedVersion;
    }, { timeoutMs: 3000, describe: w.describe });
  }
  assert.equal(w.pubA.propagation(ROUTE).generation, generation, 'endpoint changes left the route\'s generation alone');
  assert.equal(propagated(w.api), `1/1 proxies at generation ${generation}`);
});

test('the proxy on the non-leader loses its replica and resumes there: Propagated comes back from the dip to 1/1, with no other change to bring a snapshot', async () => {
  const w = await world();
  for (let round = 0; round < ROUNDS; round++) {
    await unrelatedChange(w, round);
    // The agent loses b and cannot reach a replica for a while: b's record no longer names it.
    w.svc.target = null;
    w.svc.drop();
    await waitFor(`round ${round}: the leader wrote the dip`, () => propagated(w.api)?.startsWith('0/0 proxies'), { timeoutMs: 3000, describe: w.describe });
    w.svc.target = w.pubB.port;
    await waitFor(`round ${round}: the agent resumed on b`, () => w.agent.client.stats.resumes === round + 2 && w.pubB.agents().length === 1, { timeoutMs: 5000, describe: w.describe });
    // Nothing else changes from here: the record naming it again must bring the count back.
    await waitFor(`round ${round}: Propagated back to 1/1`, () => propagated(w.api) === w.settled(), { timeoutMs: 3000, describe: w.describe });
  }
});
