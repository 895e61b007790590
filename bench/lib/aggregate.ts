// From raw rounds to the figures the issue asks for. Every comparison is made inside a round
// (configuration vs direct, vs nginx, measured minutes apart on the same machine state) and
// only then summarized across rounds as median and min–max: that is what makes ratios hold on
// a shared, noisy machine where absolute numbers drift.
//
// "Added latency per hop" = (percentile of the configuration − same percentile of direct) /
// hops. A difference of percentiles is not the percentile of the difference, but it is the
// figure users compare meshes by, and the same definition is applied to every configuration.
import type { BenchConfig, ConfigKind } from './configs.ts';
import type { RoundResult } from './measure.ts';
import { relativeRange, spread, type Spread } from './stats.ts';

export interface ScenarioSummary {
  config: string;
  rate: number;
  bodyBytes: number;
  p50: Spread;
  p99: Spread;
  addedP50PerHop: Spread;
  addedP99PerHop: Spread;
  ratioP50VsNginx: Spread;
  ratioP99VsNginx: Spread;
  cpuUsPerRequestPerHop: Spread;
  ratioCpuVsNginx: Spread;
  /** Each proxy process's CPU per request and its ratio to nginx's hop (configurations of several processes). */
  cpuByProcess?: { name: string; us: Spread; ratioVsNginx: Spread }[];
  errors: number;
  requests: number;
  /** New upstream connections per 1000 requests (warm-up included), median over rounds. */
  upstreamConnsPer1k: Spread;
  /** Rounds in which the configuration could not keep up with the offered rate (< 90% served on time). */
  saturatedRounds: number;
}

export interface ConfigSummary {
  config: string;
  label: string;
  kind: ConfigKind;
  hops: number;
  available: boolean;
  reason?: string;
  rssIdleMB: Spread;
  rssLoadedMB: Spread;
  maxRps: Spread;
  rpsPerCore: Spread;
  coreUtilization: Spread;
}

export interface NoiseReport { noisy: boolean; threshold: number; details: string[] }

export interface Summary { configs: ConfigSummary[]; scenarios: ScenarioSummary[]; noise: NoiseReport }

const NOISE_THRESHOLD = 0.10;
const MB = 1024 * 1024;

export function summarize(configs: BenchConfig[], unavailable: Map<string, string>, rounds: RoundResult[]): Summary {
  const find = (cfg: string, round: number): RoundResult | undefined => rounds.find((r) => r.config === cfg && r.round === round);
  const roundNos = [...new Set(rounds.map((r) => r.round))].sort((a, b) => a - b);
  const keys = [...new Map(rounds.flatMap((r) => r.scenarios).map((s) => [`${s.rate}/${s.bodyBytes}`, s])).values()];

  const scenarios: ScenarioSummary[] = [];
  for (const cfg of configs) {
    if (unavailable.has(cfg.id)) continue;
    for (const k of keys) {
      const per = roundNos.map((n) => {
        const at = (id: string) => find(id, n)?.scenarios.find((s) => s.rate === k.rate && s.bodyBytes === k.bodyBytes);
        return { me: at(cfg.id), direct: at('direct'), nginx: at('nginx') };
      });
      const hops = Math.max(cfg.hops, 1);
      const added = (pick: 'p50' | 'p99') => per.map(({ me, direct }) =>
        me && direct && cfg.hops > 0 ? (me.load.latencyUs[pick] - direct.load.latencyUs[pick]) / hops : NaN);
      const nginxAdded = (pick: 'p50' | 'p99') => per.map(({ nginx, direct }) =>
        nginx && direct ? nginx.load.latencyUs[pick] - direct.load.latencyUs[pick] : NaN);
      const ratio = (a: number[], b: number[]) => a.map((x, i) => (b[i]! > 0 ? x / b[i]! : NaN));
      const cpu = per.map(({ me }) => (me && cfg.hops > 0 ? me.cpuUsPerRequest / hops : NaN));
      const nginxCpu = per.map(({ nginx }) => nginx?.cpuUsPerRequest ?? NaN);
      const names = [...new Set(per.flatMap(({ me }) => (me?.cpuUsPerRequestByProcess ?? []).map((b) => b.name)))];
      const cpuByProcess = names.map((name) => {
        const us = per.map(({ me }) => me?.cpuUsPerRequestByProcess?.find((b) => b.name === name)?.us ?? NaN);
        return { name, us: spread(us), ratioVsNginx: spread(ratio(us, nginxCpu)) };
      });
      const a50 = added('p50');
      const a99 = added('p99');
      scenarios.push({
        config: cfg.id, rate: k.rate, bodyBytes: k.bodyBytes,
        p50: spread(per.map(({ me }) => me?.load.latencyUs.p50 ?? NaN)),
        p99: spread(per.map(({ me }) => me?.load.latencyUs.p99 ?? NaN)),
        addedP50PerHop: spread(a50), addedP99PerHop: spread(a99),
        ratioP50VsNginx: spread(ratio(a50, nginxAdded('p50'))),
        ratioP99VsNginx: spread(ratio(a99, nginxAdded('p99'))),
        cpuUsPerRequestPerHop: spread(cpu),
        ratioCpuVsNginx: spread(ratio(cpu, nginxCpu)),
        ...(cpuByProcess.length > 0 ? { cpuByProcess } : {}),
        errors: per.reduce((s, { me }) => s + (me?.load.errors ?? 0), 0),
        requests: per.reduce((s, { me }) => s + (me?.load.requests ?? 0), 0),
        upstreamConnsPer1k: spread(per.map(({ me }) => (me ? (me.upstreamConnections / Math.max(1, me.servedTotal)) * 1000 : NaN))),
        saturatedRounds: per.filter(({ me }) => me !== undefined && me.load.achievedRps < 0.9 * k.rate).length,
      });
    }
  }

  const configSummaries: ConfigSummary[] = configs.map((cfg) => {
    const mine = rounds.filter((r) => r.config === cfg.id);
    const reason = unavailable.get(cfg.id);
    return {
      config: cfg.id, label: cfg.label, kind: cfg.kind, hops: cfg.hops,
      available: reason === undefined, ...(reason !== undefined ? { reason } : {}),
      rssIdleMB: spread(mine.map((r) => r.rssIdleBytes / MB)),
      rssLoadedMB: spread(mine.map((r) => r.rssLoadedBytes / MB)),
      maxRps: spread(mine.map((r) => r.maxRps?.rps ?? NaN)),
      rpsPerCore: spread(mine.map((r) => r.maxRps?.rpsPerCore ?? NaN)),
      coreUtilization: spread(mine.map((r) => r.maxRps?.coreUtilization ?? NaN)),
    };
  });

  const details: string[] = [];
  for (const s of scenarios) {
    const cfg = configs.find((c) => c.id === s.config);
    if (cfg?.kind === 'meshlet') continue;
    const rr = relativeRange(s.p50);
    if (rr > NOISE_THRESHOLD) details.push(`${s.config} p50 at ${s.rate} rps / ${s.bodyBytes} B moved ${(rr * 100).toFixed(0)}% between rounds`);
  }
  return { configs: configSummaries, scenarios, noise: { noisy: details.length > 0, threshold: NOISE_THRESHOLD, details } };
}
