// The Grafana dashboard shipped with the chart (charts/meshlet/dashboards/): it parses as JSON,
// and every PromQL expression in it names only metrics meshlet exports and, on each metric,
// only the labels that metric carries. The exported set is read from the running code (a
// telemetry instance's /metrics text), so renaming a metric or label fails here.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { REQUEST_LABELS, TCP_LABELS } from '../../../agent/telemetry/metrics/index.ts';
import { startTelemetry } from '../../../agent/telemetry/index.ts';
import { proxyMetrics } from '../../../agent/admin/proxy-metrics.ts';
import { ControllerClient, controllerClientMetrics } from '../../../agent/controller-client/index.ts';
import type { ProxyCore } from '../../../agent/engine/core.ts';
import { RetryBudgets } from '../../../agent/engine/index.ts';
import { UpstreamPools } from '../../../agent/engine/pools.ts';
import { CertificateManager } from '../../../agent/identity/index.ts';
import { PropagationLatency } from '../../../controller/publish/metrics.ts';

const DASHBOARD = new URL('../../../charts/meshlet/dashboards/meshlet-mesh.json', import.meta.url);
const PROMQL_WORDS = new Set(['sum', 'min', 'max', 'rate', 'increase', 'histogram_quantile', 'time', 'by', 'without', 'label_values', 'label_replace']);

/**
 * The health metrics beside the request metrics, as rendered by the code that serves them: a
 * proxy's own (an empty core), its config channel's (a client never started), its certificate's,
 * and the controller's propagation histogram.
 */
function healthText(): string {
  // A budget with no allowance, refused once: the exhaustion counter renders with its labels.
  const budgets = new RetryBudgets({ ratio: 0, minPerSecond: 0 });
  budgets.for('httproute/n/r/rule/0').tryRetry();
  const core = { holder: { current: null, rejected: 0 }, inflight: { count: 0 }, pools: new UpstreamPools(), budgets } as unknown as ProxyCore;
  const client = new ControllerClient({ url: 'ws://127.0.0.1:9', agent: { pod: 'w-0', namespace: 'n', serviceAccount: 'default', mode: 'sidecar' }, log: () => undefined });
  const certs = new CertificateManager({ requestCertificate: () => Promise.reject(new Error('no CA in this test')), log: () => undefined });
  return proxyMetrics(core, 'sidecar') + controllerClientMetrics(client) + certs.metrics() + new PropagationLatency().render();
}

/** Metric name → the labels its samples carry, from what meshlet actually renders. */
function exported(): Map<string, Set<string>> {
  const tel = startTelemetry({
    role: 'sidecar', self: { name: 'w', namespace: 'n', pod: 'w-0', principal: '' }, env: {}, metrics: true, accessLog: null,
    // An endpoint nothing listens on: the trace counters are rendered; no span is ever exported.
    otlpEndpoint: 'http://127.0.0.1:9', defaultSamplingRatio: 0, log: () => undefined,
  });
  const health = healthText();
  const text = tel.metrics() + health;
  void tel.shutdown();
  const out = new Map<string, Set<string>>();
  // Labels of the health metrics: those on their rendered samples.
  const sampled = (name: string): string[] => [...health.matchAll(new RegExp(`^${name}\\{([^}]*)\\}`, 'gm'))].flatMap((m) => [...m[1]!.matchAll(/(\w+)="/g)].map((l) => l[1]!));
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const labels = new Set<string>(name!.startsWith('meshlet_tcp_') ? TCP_LABELS : /^meshlet_(request|response)/.test(name!) ? REQUEST_LABELS : sampled(name!).filter((l) => l !== 'le'));
    if (type === 'histogram') {
      out.set(`${name}_bucket`, new Set([...labels, 'le']));
      out.set(`${name}_sum`, labels);
      out.set(`${name}_count`, labels);
    } else out.set(name!, labels);
  }
  return out;
}

/** Problems with one expression: unknown identifiers, metrics, or labels a metric does not have. */
export function checkExpr(expr: string, metrics: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  const e = expr.replace(/\$\{?\w+\}?/g, '');
  const used: string[] = [];
  // Selectors: `metric{label op "value", ...}`; values are strings and say nothing about names.
  for (const [, name, body] of e.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)) {
    used.push(name!);
    const labels = metrics.get(name!);
    if (!labels) { problems.push(`unknown metric ${name}`); continue; }
    for (const [, l] of body!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*"/g)) if (!labels.has(l!)) problems.push(`${name} has no label ${l}`);
  }
  const bare = e.replace(/(?:[a-zA-Z_:][\w:]*\s*)?\{[^}]*\}/g, ' ').replace(/"[^"]*"/g, '').replace(/\[[^\]]*\]/g, '');
  const grouping = [...bare.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
  const labelValuesArg = /label_values\([^,]*,\s*([a-zA-Z_]\w*)\s*\)/.exec(bare)?.[1];
  const known = new Set([...grouping, ...(labelValuesArg ? [labelValuesArg] : [])]);
  for (const [w] of bare.matchAll(/[a-zA-Z_][\w:]*/g)) {
    if (PROMQL_WORDS.has(w) || known.has(w)) continue;
    if (!metrics.has(w)) problems.push(`unknown name ${w}`);
    else used.push(w);
  }
  const onUsed = new Set(used.flatMap((m) => [...(metrics.get(m) ?? [])]));
  for (const l of known) if (!onUsed.has(l)) problems.push(`no metric in the expression has label ${l}`);
  return [...new Set(problems)];
}

interface Panel { title?: string; targets?: { expr: string; legendFormat?: string }[]; panels?: Panel[] }

test('the dashboard parses and names only what meshlet exports', async () => {
  const dash = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string; query: unknown }[] } };
  assert.equal(dash.uid, 'meshlet-mesh');
  const metrics = exported();
  assert.ok(metrics.has('meshlet_requests_total') && metrics.has('meshlet_request_duration_seconds_bucket'), [...metrics.keys()].join(', '));
  const exprs: [string, string][] = [];
  const walk = (ps: Panel[]): void => { for (const p of ps) { for (const t of p.targets ?? []) exprs.push([p.title ?? '', t.expr]); walk(p.panels ?? []); } };
  walk(dash.panels);
  for (const v of dash.templating.list) if (typeof v.query === 'object' && v.query) exprs.push([`variable ${v.name}`, (v.query as { query: string }).query]);
  assert.ok(exprs.length >= 15, `expressions found: ${exprs.length}`);
  for (const [where, expr] of exprs) assert.deepEqual(checkExpr(expr, metrics), [], `${where}: ${expr}`);
});

test('the check itself catches a wrong metric, a wrong label and a wrong grouping', () => {
  const metrics = exported();
  assert.deepEqual(checkExpr('sum(rate(meshlet_request_total{reporter="source"}[1m]))', metrics), ['unknown metric meshlet_request_total']);
  assert.deepEqual(checkExpr('sum(rate(meshlet_tcp_sent_bytes_total{response_code="200"}[1m]))', metrics), ['meshlet_tcp_sent_bytes_total has no label response_code']);
  assert.deepEqual(checkExpr('sum by (pod) (rate(meshlet_requests_total[$__rate_interval]))', metrics), ['no metric in the expression has label pod']);
  assert.deepEqual(checkExpr('istio_requests_total', metrics), ['unknown name istio_requests_total']);
  // Health metrics carry the labels their samples show, no more.
  assert.deepEqual(checkExpr('sum(increase(meshlet_agent_config_updates_total{result="nack"}[5m]))', metrics), []);
  assert.deepEqual(checkExpr('max(meshlet_agent_subscriptions{result="ack"})', metrics), ['meshlet_agent_subscriptions has no label result']);
  assert.deepEqual(checkExpr('histogram_quantile(0.99, sum by (le) (rate(meshlet_controller_propagation_seconds_bucket[5m])))', metrics), []);
});

test('a legend of the route label alone names the empty route (no HTTPRoute) instead of showing nothing', async () => {
  const dash = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Panel[] };
  const byRoute: [string, string][] = [];
  const walk = (ps: Panel[]): void => { for (const p of ps) { for (const t of p.targets ?? []) if (t.legendFormat === '{{route}}') byRoute.push([p.title ?? '', t.expr]); walk(p.panels ?? []); } };
  walk(dash.panels);
  // the request metrics and the retry budget's refusals label a Service's default route route=""
  assert.ok(byRoute.length >= 2, `panels with a {{route}} legend: ${byRoute.length}`);
  for (const [title, expr] of byRoute) assert.match(expr, /^label_replace\(.*, "route", "[^"]+", "route", ""\)$/, `${title}: ${expr}`);
});
