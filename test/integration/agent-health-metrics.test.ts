// The agent's own health on its admin /metrics, parsed as Prometheus text, with a real
// Publisher in process: the config channel's state (connected, subscriptions, tables acked) and
// the version of the routing table in force, which stays when the controller goes away.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerClient, controllerClientMetrics } from '../../agent/controller-client/index.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import type { Publisher } from '../../controller/publish/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { eventually, quiet, reviewsTable, startPublisher } from './distribution-world.ts';
import { parsePrometheus as parse, type Sample } from '../support/prometheus-text.ts';

const dest = { address: '10.96.0.10', port: 80 };
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});



async function scrape(proxy: RunningProxy): Promise<Sample[]> {
  const res = await send({ port: proxy.ports.admin!, path: '/metrics' });
  assert.equal(res.status, 200);
  return parse(res.text);
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

test('config channel and table in force: connected, subscriptions, acks, version; the version stays when the controller is gone', async () => {
  const v1: EchoServer = await startEchoServer({ pod: 'reviews-v1-0', namespace: 'default' });
  const v2: EchoServer = await startEchoServer({ pod: 'reviews-v2-0', namespace: 'default' });
  cleanup.push(() => v1.close(), () => v2.close());
  let pub: Publisher = await startPublisher();
  const pubPort = pub.port;
  let pubClosed = false;
  cleanup.push(() => (pubClosed ? undefined : pub.close()));
  pub.setTable(reviewsTable('v1', { v1: v1.port, v2: v2.port }));
  const client = new ControllerClient({
    url: `ws://127.0.0.1:${pub.port}`, agent: { pod: 'client-a', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    backoff: { initialMs: 50, maxMs: 200 }, onDemandTimeoutMs: 1_000, log: quiet,
  }).start();
  cleanup.push(() => client.close());
  await client.ready(5_000);
  const proxy = await startSidecar({
    namespace: 'default', source: client, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
    originalDestination: () => dest, explicit: false, log: quiet,
    onUnknownDestination: (address, port) => client.ensureDestination(address, port),
    metrics: [() => controllerClientMetrics(client)],
  });
  cleanup.push(() => proxy.close());

  let m = await scrape(proxy);
  assert.equal(value(m, 'meshlet_agent_controller_connected'), 1);
  assert.equal(value(m, 'meshlet_agent_subscriptions'), 0, 'nothing called yet');

  const get = (): Promise<Awaited<ReturnType<typeof send>>> => send({ port: proxy.ports.outbound!, path: '/', authority: '10.96.0.10:80', timeoutMs: 5_000 });
  assert.equal((await get()).echo?.pod, 'reviews-v1-0');
  m = await scrape(proxy);
  assert.equal(value(m, 'meshlet_agent_subscriptions'), 1, 'the destination the app called');
  const acked = value(m, 'meshlet_agent_config_updates_total', { result: 'ack' })!;
  assert.ok(acked >= 1);
  assert.equal(value(m, 'meshlet_agent_config_updates_total', { result: 'nack' }), 0);
  const first = m.filter((s) => s.name === 'meshlet_proxy_table_info');
  assert.deepEqual(first.map((s) => [s.labels.version, s.value]), [[client.current!.version, 1]]);

  pub.setTable(reviewsTable('v2', { v1: v1.port, v2: v2.port }));
  await eventually('the agent routes by v2', async () => (await get()).echo?.pod === 'reviews-v2-0');
  m = await scrape(proxy);
  assert.ok(value(m, 'meshlet_agent_config_updates_total', { result: 'ack' })! > acked, 'the new table was acknowledged');
  const second = m.filter((s) => s.name === 'meshlet_proxy_table_info');
  assert.equal(second.length, 1, 'one version in force');
  assert.notEqual(second[0]!.labels.version, first[0]!.labels.version);
  assert.equal(second[0]!.labels.version, client.current!.version);

  await pub.close();
  pubClosed = true;
  await eventually('the agent sees the controller gone', async () => value(await scrape(proxy), 'meshlet_agent_controller_connected') === 0);
  m = await scrape(proxy);
  assert.equal(m.find((s) => s.name === 'meshlet_proxy_table_info')?.labels.version, second[0]!.labels.version, 'the last good table stays in force');
  assert.equal((await get()).echo?.pod, 'reviews-v2-0');

  // Back with the same table: the hello names the version in force, the controller confirms it
  // instead of sending it again, and the agent counts a resume.
  assert.equal(value(m, 'meshlet_agent_config_resumes_total'), 0);
  pub = await startPublisher(pubPort);
  pubClosed = false;
  pub.setTable(reviewsTable('v2', { v1: v1.port, v2: v2.port }));
  await eventually('the agent reconnected', async () => value(await scrape(proxy), 'meshlet_agent_controller_connected') === 1);
  m = await scrape(proxy);
  assert.equal(value(m, 'meshlet_agent_config_resumes_total'), 1);
  assert.equal(m.find((s) => s.name === 'meshlet_proxy_table_info')?.labels.version, second[0]!.labels.version, 'the same table, not swapped');
});
