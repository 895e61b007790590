// Messages between the benchmark and its swarm of simulated agents (a child process, over
// Node's IPC channel). Times are CLOCK_MONOTONIC milliseconds (process.hrtime), which every
// process on the machine shares, so the benchmark can subtract its own write time from them.
import type { SubscriptionTarget } from '../../api/wire.ts';

export interface AgentSpec { index: number; targets: SubscriptionTarget[] }

export type SwarmCommand =
  /** Connect these agents (at most `concurrency` handshaking at once); answers once all have acked a first slice. */
  | { cmd: 'connect'; id: number; url: string; agents: AgentSpec[]; concurrency: number; timeoutMs: number }
  /** Watch for frames containing `marker`; answers at once, then a `marker` event when every agent acked one (or the timeout). */
  | { cmd: 'arm'; id: number; marker: string; timeoutMs: number }
  /** A fresh agent: connect, take its first slice, disconnect; answers with the time that took. */
  | { cmd: 'fresh'; id: number; url: string; agent: AgentSpec; timeoutMs: number }
  | { cmd: 'close'; id: number };

/** `failures`: agents that got no first slice within the bound (they are closed and left out). */
export interface ConnectReply { id: number; ok: true; connected: number; firstSyncMs: number[]; failures: string[]; wallMs: number }
export interface FreshReply { id: number; ok: true; firstSyncMs: number }
export interface SimpleReply { id: number; ok: true }
export interface ErrorReply { id: number; ok: false; error: string }
export type SwarmReply = ConnectReply | FreshReply | SimpleReply | ErrorReply;

/** When each agent acked the frame carrying the marker; `missing` agents never did (timeout). */
export interface MarkerEvent { ev: 'marker'; marker: string; ackAtMs: number[]; missing: number }
/** Something went wrong with an agent outside a command (closed, refused). */
export interface ProblemEvent { ev: 'problem'; message: string }
export type SwarmEvent = MarkerEvent | ProblemEvent;

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
