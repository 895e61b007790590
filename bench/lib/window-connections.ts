// What meshlet's processes did about connections during a measurement window (issue 16): the
// connections their pools opened (mesh mTLS and plaintext) and the mesh TLS handshakes they
// completed, full or resumed, read from each agent's admin /metrics before and after the
// window. A handshake costs milliseconds of CPU where a warm request costs ~0.1 ms, so a
// saturation round that had to (re)open its mesh connections reads a much lower requests/s per
// core; with these counts beside it such a round explains itself. Plain counters, no sampling.
import { request } from 'node:http';

export interface ConnectionCounts {
  /** Connections opened to upstreams, all transports (the server agent's include the app's). */
  opened: number;
  /** Of them, mesh mTLS connections. */
  mtlsOpened: number;
  /** Mesh TLS handshakes completed, client and server side together. */
  handshakesFull: number;
  handshakesResumed: number;
}

/** The counts in a /metrics text; null when the agent exports none of them (an older meshlet). */
export function parseConnectionCounts(text: string): ConnectionCounts | null {
  const c: ConnectionCounts = { opened: 0, mtlsOpened: 0, handshakesFull: 0, handshakesResumed: 0 };
  let seen = false;
  for (const line of text.split('\n')) {
    const m = /^(meshlet_proxy_upstream_connections_opened_total|meshlet_mesh_tls_handshakes_total)\{([^}]*)\} (\S+)$/.exec(line);
    if (m === null) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    seen = true;
    const labels = m[2]!;
    if (m[1] === 'meshlet_proxy_upstream_connections_opened_total') {
      c.opened += value;
      if (labels.includes('transport="mtls"')) c.mtlsOpened += value;
    } else if (labels.includes('session="resumed"')) c.handshakesResumed += value;
    else c.handshakesFull += value;
  }
  return seen ? c : null;
}

/** `after` minus `before`, field by field; null when either is missing. */
export function countsDelta(before: ConnectionCounts | null, after: ConnectionCounts | null): ConnectionCounts | null {
  if (before === null || after === null) return null;
  return {
    opened: after.opened - before.opened, mtlsOpened: after.mtlsOpened - before.mtlsOpened,
    handshakesFull: after.handshakesFull - before.handshakesFull, handshakesResumed: after.handshakesResumed - before.handshakesResumed,
  };
}

/** An agent's counts from its admin port on loopback; null if it does not answer within 2 s. */
export function readConnectionCounts(adminPort: number): Promise<ConnectionCounts | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: adminPort, path: '/metrics', timeout: 2_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve(res.statusCode === 200 ? parseConnectionCounts(text) : null));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** The pair's window in one phrase: "0 connections opened (0 mTLS), 0 + 0 TLS handshakes (full + resumed)". */
export function describeCounts(c: ConnectionCounts): string {
  return `${c.opened} connections opened (${c.mtlsOpened} mTLS), ${c.handshakesFull} + ${c.handshakesResumed} TLS handshakes (full + resumed)`;
}

/** The counts of one saturation window, all agents of a configuration together (each handshake counted at both ends). */
function pairCell(w: NonNullable<SaturationRound['maxRps']>, connections: { counts: ConnectionCounts | null }[]): string {
  const core = w.proxyCore !== undefined ? ` · others ${(w.proxyCore.othersBusy * 100).toFixed(0)} %, steal ${(w.proxyCore.steal * 100).toFixed(0)} %` : '';
  const known = connections.map((c) => c.counts).filter((c): c is ConnectionCounts => c !== null);
  if (known.length < connections.length) return `${Math.round(w.rpsPerCore)} · counts not read${core}`;
  const sum = (k: keyof ConnectionCounts): number => known.reduce((s, c) => s + c[k], 0);
  return `${Math.round(w.rpsPerCore)} · ${sum('opened')} opened (${sum('mtlsOpened')} mTLS) · ${sum('handshakesFull')} / ${sum('handshakesResumed')}${core}`;
}

interface SaturationRound {
  round: number;
  config: string;
  maxRps: { rpsPerCore: number; connections?: { counts: ConnectionCounts | null }[]; proxyCore?: { othersBusy: number; steal: number } } | null;
}

/**
 * The report's per-round view of the saturation windows of the configurations whose agents
 * report counts: requests/s per core beside the connections opened and TLS handshakes in that
 * very window, so a round that reconnected reads apart from one that did not. Empty when none.
 */
export function saturationConnectionsSection(rounds: readonly SaturationRound[], labelOf: (config: string) => string): string[] {
  const withCounts = [...new Set(rounds.filter((r) => r.maxRps?.connections !== undefined).map((r) => r.config))];
  if (withCounts.length === 0) return [];
  const roundNos = [...new Set(rounds.map((r) => r.round))].sort((a, b) => a - b);
  return [
    'Connections during each saturation window (meshlet agents\' /metrics counters read before and after it): requests/s per core · connections ' +
      'the agents opened (the server agent\'s include the app\'s) · mesh TLS handshakes full / resumed, each counted at both ends. ' +
      'A warm pair at a fixed number of wrk connections opens none; a handshake costs milliseconds of CPU. ' +
      '"others" and "steal": the proxy core\'s time taken by other processes and by the hypervisor over the window (/proc/stat).',
    '',
    `| configuration | ${roundNos.map((n) => `round ${n}`).join(' | ')} |`,
    `|---|${roundNos.map(() => '---').join('|')}|`,
    ...withCounts.map((cfg) => `| ${labelOf(cfg)} | ${roundNos.map((n) => {
      const r = rounds.find((x) => x.config === cfg && x.round === n);
      return r?.maxRps?.connections !== undefined ? pairCell(r.maxRps, r.maxRps.connections) : '–';
    }).join(' | ')} |`),
    '',
  ];
}
