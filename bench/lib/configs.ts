// The configurations under comparison, each one entry: how to start it, which port the load
// generator targets, which processes are "the proxy" for CPU and memory, and how many proxy
// hops a request crosses. Adding a configuration (mTLS between sidecars, HTTP/2 between hops)
// is adding an entry here (mTLS is: meshlet-sidecars-mtls); the runner, statistics and report need no change.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPinned, type Started } from './procs.ts';
import { startHaproxy, startNginxProxy } from './servers.ts';
import { freePort, waitReady } from './net-util.ts';
import { startIngress, startSidecarPair } from './meshlet.ts';

export interface BenchContext {
  /** Scratch directory of this run (configs, logs, rendered manifests). */
  dir: string;
  /** Repository root (for bin/meshlet.js). */
  root: string;
  upstreamPort: number;
  /** CPU list the proxies are pinned to. */
  proxyCpus: string;
  /** A request the configuration must answer 200 to before it counts as started. */
  probe: Buffer;
  /** Extra node flags for meshlet processes (the profiling stage adds --cpu-prof). */
  nodeArgs?: string[];
  /** Words put before each proxy's command line (the counts stage runs the proxies under callgrind). */
  wrap?: string[];
  /** How long a configuration may take to answer its first 200 (default 10 s; 15 s for meshlet's). */
  startDeadlineMs?: number;
  /**
   * meshlet's processes start without their one start-up reclaim (`--startup-reclaim-seconds 0`,
   * where the build has the flag): the counts stage, whose warm-up under callgrind outlasts the
   * reclaim's 40 s, so its large collection landed in the warm-up or in a counted window by luck.
   */
  noStartupReclaim?: boolean;
}

/** The command and arguments a proxy is started with, behind ctx.wrap when there is one. */
export function commandOf(ctx: BenchContext, cmd: string, args: string[]): [string, string[]] {
  const w = ctx.wrap ?? [];
  return w.length === 0 ? [cmd, args] : [w[0]!, [...w.slice(1), cmd, ...args]];
}

export interface Live {
  port: number;
  /** The processes whose CPU and RSS are "the proxy" (empty for direct). */
  procs: Started[];
  /** meshlet agents' admin ports, by process name: saturation reads their connection counters (window-connections.ts). */
  admin?: { name: string; port: number }[];
  stop(): Promise<void>;
}

export type StartOutcome = { ok: true; live: Live } | { ok: false; reason: string };

export type ConfigKind = 'floor' | 'reference' | 'meshlet' | 'prototype';

export interface BenchConfig {
  id: string;
  label: string;
  kind: ConfigKind;
  /** Proxy hops a request crosses; added latency is divided by this to get "per hop". */
  hops: number;
  start(ctx: BenchContext): Promise<StartOutcome>;
}

async function startSimple(ctx: BenchContext, launch: (port: number) => Started): Promise<StartOutcome> {
  const port = await freePort();
  const p = launch(port);
  const ready = await waitReady(port, ctx.probe, ctx.startDeadlineMs ?? 10_000, () => p.exited());
  if (!ready.ok) {
    await p.stop();
    return { ok: false, reason: `${p.name} did not answer 200 (last status ${ready.lastStatus}): ${p.tail()}` };
  }
  return { ok: true, live: { port, procs: [p], stop: () => p.stop() } };
}

export const CONFIGS: BenchConfig[] = [
  {
    id: 'direct', label: 'direct (no proxy)', kind: 'floor', hops: 0,
    start: (ctx) => Promise.resolve({ ok: true, live: { port: ctx.upstreamPort, procs: [], stop: () => Promise.resolve() } }),
  },
  {
    id: 'nginx', label: 'nginx, 1 hop', kind: 'reference', hops: 1,
    start: (ctx) => startSimple(ctx, (port) => startNginxProxy(ctx.dir, port, ctx.upstreamPort, ctx.proxyCpus, 'nginx-proxy', ctx.wrap)),
  },
  {
    id: 'haproxy', label: 'haproxy, 1 hop', kind: 'reference', hops: 1,
    start: (ctx) => startSimple(ctx, (port) => startHaproxy(ctx.dir, port, ctx.upstreamPort, ctx.proxyCpus)),
  },
  {
    // The Node floor (issue 16): a 12-line node:http proxy with a keep-alive agent, so each report
    // shows what Node gives for free next to nginx and meshlet.
    id: 'node-floor', label: 'plain node:http proxy (the Node floor), 1 hop', kind: 'reference', hops: 1,
    start: (ctx) => startSimple(ctx, (port) => startPinned('node floor', ctx.proxyCpus, ...commandOf(ctx, process.execPath,
      [...(ctx.nodeArgs ?? []), join(PROTOTYPES, 'node-http.ts'), '--port', String(port), '--upstream', String(ctx.upstreamPort)]))),
  },
  {
    id: 'meshlet-ingress', label: 'meshlet ingress, 1 hop', kind: 'meshlet', hops: 1,
    start: (ctx) => startIngress(ctx, join(ctx.dir, 'meshlet-ingress')),
  },
  {
    id: 'meshlet-sidecars', label: 'meshlet sidecar → sidecar, 2 hops', kind: 'meshlet', hops: 2,
    start: (ctx) => startSidecarPair(ctx, join(ctx.dir, 'meshlet-sidecars')),
  },
  {
    id: 'meshlet-sidecars-mtls', label: 'meshlet sidecar → sidecar, mTLS, 2 hops', kind: 'meshlet', hops: 2,
    start: (ctx) => startSidecarPair(ctx, join(ctx.dir, 'meshlet-sidecars-mtls'), true),
  },
];

const PROTOTYPES = join(dirname(fileURLToPath(import.meta.url)), '..', 'prototypes');

/**
 * The floor under the Node floor (issue 16): bench/prototypes/net-pipe.ts, each client connection
 * piped byte for byte to its own upstream connection, no HTTP at all. What it adds over nginx is
 * what any Node proxy pays (libuv's turns, V8's calls into the socket handles), before it parses
 * a byte; the closed-loop stage and the counts stage (hop-counts.ts) run it beside nginx,
 * node:http and meshlet. Not in the open-loop rounds: it has no per-request cost of HTTP to show.
 */
export const NODE_L4_PIPE: BenchConfig = {
  id: 'node-l4-pipe', label: 'Node L4 pipe (no HTTP), 1 hop', kind: 'reference', hops: 1,
  start: (ctx) => startSimple(ctx, (port) => startPinned('node L4 pipe', ctx.proxyCpus, ...commandOf(ctx, process.execPath,
    [...(ctx.nodeArgs ?? []), join(PROTOTYPES, 'net-pipe.ts'), '--port', String(port), '--upstream', String(ctx.upstreamPort)]))),
};

function prototype(id: string, file: string, label: string): BenchConfig {
  return {
    id: `proto-${id}`, label: `prototype: ${label}, 1 hop`, kind: 'prototype', hops: 1,
    start: (ctx) => startSimple(ctx, (port) => startPinned(`prototype ${id}`, ctx.proxyCpus, process.execPath,
      [...(ctx.nodeArgs ?? []), join(PROTOTYPES, file), '--port', String(port), '--upstream', String(ctx.upstreamPort)])),
  };
}

/** Hot-path candidates (bench/prototypes), measured only with --prototypes. */
export const PROTOTYPE_CONFIGS: BenchConfig[] = [
  // node:http + http.Agent is no longer a prototype: it always runs, as the Node floor (CONFIGS).
  prototype('undici-stream', 'undici-stream.ts', 'node:http + undici Pool.stream'),
  prototype('http-proxy', 'http-proxy.ts', 'http-proxy library'),
  prototype('net-pipe', 'net-pipe.ts', 'L4 byte pipe'),
  // issue 16 / ADR 0017: HTTP/1.1 on raw sockets with llhttp, keep-alive upstream pool (prototypes/h1-raw/)
  prototype('llhttp-native', 'llhttp-native.ts', 'raw sockets + llhttp via Node\'s C++ binding'),
  prototype('llhttp-wasm', 'llhttp-wasm.ts', 'raw sockets + llhttp WebAssembly (undici\'s build)'),
  {
    // ADR 0012: a 1 MB young generation frees the per-read buffers in scavenges instead of
    // letting them pile up to V8's external-memory limit; measured here for CPU and streaming.
    id: 'proto-sidecars-young-1mb', label: 'prototype: meshlet sidecar → sidecar, node --max-semi-space-size=1, 2 hops', kind: 'prototype', hops: 2,
    start: (ctx) => startSidecarPair({ ...ctx, nodeArgs: ['--max-semi-space-size=1', ...(ctx.nodeArgs ?? [])] }, join(ctx.dir, 'proto-sidecars-young-1mb')),
  },
  {
    id: 'proto-sidecars-mtls-h2', label: 'prototype: meshlet sidecar → sidecar, mTLS, h1 multiplexed on one h2 connection, 2 hops', kind: 'prototype', hops: 2,
    start: (ctx) => startSidecarPair(ctx, join(ctx.dir, 'proto-sidecars-mtls-h2'), true, true),
  },
];
