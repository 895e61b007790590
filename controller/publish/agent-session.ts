// One connected agent, from the publisher's side: its hello, its subscriptions, the last slice
// sent to it and the last version it acknowledged or refused. Frames are handled one at a time
// in arrival order (hello may await authentication), so a subscribe sent right behind the hello
// is never seen before it.
import type { IncomingMessage } from 'node:http';
import type WebSocket from 'ws';
import type { RoutingTable } from '../../api/routing-table.ts';
import { ENTRY_RULE } from '../../api/version.ts';
import type { CertificateErrorMessage, CertificateMessage, CsrMessage } from '../../api/identity.ts';
import {
  WIRE_LIMITS, WIRE_PROTOCOL, WireProtocolUnsupportedError, encodeMessage, parseMessage, targetKey,
  type AgentMessage, type ControllerMessage, type HelloMessage, type SubscriptionTarget, type TableChanges,
} from '../../api/wire.ts';
import type { PublisherMetrics } from './metrics.ts';
import { payloadOf, type EncodedFrame } from './patch-frame.ts';
import { changeSize } from './diff.ts';
import { ackVersion } from './ack-frame.ts';
import { readAcksFirst } from './ack-reader.ts';
import { encodeFramed, writeFrame, type RawSocket } from './ws-frame.ts';

const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** ws.send options for a frame given as bytes: a text frame all the same (the protocol's frames are text). */
const TEXT = { binary: false } as const;
/** WebSocket.OPEN. */
const OPEN = 1;

export interface SessionHost {
  controllerId: string;
  metrics: PublisherMetrics;
  table(): RoutingTable | null;
  /**
   * sliceTable() and routesIn() of the current table, shared by agents that subscribe alike.
   * `last`: the slice of the table before for the same subscriptions, which a route change's
   * slice may be derived from (rebase-slice.ts). `entryRule`: version it by the entry rule (ADR 0025).
   */
  slice(agent: { namespace: string; pod: string; entryRule?: boolean }, targets: SessionTargets, last?: RoutingTable): { slice: RoutingTable; routes: Set<string> };
  /** diffTables(), shared by agents that move between the same two slices. */
  diff(base: RoutingTable, next: RoutingTable): TableChanges;
  /**
   * The encoded frame carrying a slice whole, or as a patch from `base` (with `changes`, its
   * diff): shared by every agent sent the same, so a change reaching many agents is encoded once
   * per distinct slice, not once per agent.
   */
  frame(slice: RoutingTable, patch?: { base: RoutingTable; changes: TableChanges }): EncodedFrame;
  /** The slice sent to a session changed (the publisher's backend → sessions index follows it). */
  sent(session: AgentSession, before: RoutingTable | null, after: RoutingTable | null): void;
  log(line: string): void;
  /** Logs an agent's refusal (rate-limited: a bad table can be refused by every agent). */
  logNack(label: string, version: string, reason: string): void;
  /** Throws to refuse the agent; the message is sent back in the error frame. */
  authenticate(hello: HelloMessage, request: IncomingMessage): void | Promise<void>;
  /** Throws unless a hello claiming `mode: ingress` proved it (token, or loopback); see ingress-auth.ts. */
  checkIngress(hello: HelloMessage, request: IncomingMessage): void;
  /** Something that propagation() reads changed (ack, nack, slice, hello, close), for this session. */
  changed(session: AgentSession): void;
  /** Answers a CSR (the CA); null when this controller issues no certificates. */
  certificate: ((csr: CsrMessage, hello: HelloMessage) => Promise<CertificateMessage | CertificateErrorMessage>) | null;
  /** The current trust bundle; empty without a CA. */
  trustBundle(): string[];
}

/** A session's subscriptions, with what the slice cache keys them by (worked out once per change of them, not per table). */
export interface SessionTargets {
  readonly map: ReadonlyMap<string, SubscriptionTarget>;
  /** The target keys, sorted and joined. */
  readonly key: string;
  /** Some target is an inbound port. */
  readonly inbound: boolean;
}

/** What /debug and tests see of an agent. */
export interface AgentStatus {
  pod: string;
  namespace: string;
  serviceAccount: string;
  mode: 'sidecar' | 'ingress';
  subscriptions: number;
  sentVersion: string | null;
  ackedVersion: string | null;
  lastNack: { version: string; reason: string } | null;
}

/**
 * Gateways carry their listeners' private keys: only the ingress may subscribe to them. The mode
 * is trusted here because an ingress hello was checked first (host.checkIngress).
 */
function allowed(mode: 'sidecar' | 'ingress', t: SubscriptionTarget): boolean {
  return mode === 'ingress' || (t.kind !== 'gateway' && t.kind !== 'gateways');
}

function forbiddenMessage(mode: string, t: SubscriptionTarget): string {
  return `a ${mode} may not subscribe to ${t.kind} (Gateways, with their TLS keys, are for the ingress only)`;
}

export class AgentSession {
  hello: HelloMessage | null = null;
  readonly targets = new Map<string, SubscriptionTarget>();
  /** `targets` with its cache key; dropped whenever they change. */
  #targetsKeyed: SessionTargets | null = null;
  sent: { version: string; routes: Set<string>; table: RoutingTable; asPatch: boolean } | null = null;
  acked: string | null = null;
  lastNack: { version: string; reason: string } | null = null;
  readonly #ws: WebSocket;
  readonly #host: SessionHost;
  readonly #request: IncomingMessage;
  /**
   * The connection's socket, written to with frames framed once for every agent they are for
   * (ws-frame.ts), or null: frames go through ws.send. Only without extensions (no
   * permessage-deflate, Publisher.start): then ws writes every frame of its own (welcome aside,
   * pings, close) to this socket at once, in call order, as ours are, and the frames of one
   * connection keep the order they were sent in.
   */
  readonly #raw: RawSocket | null;
  #queue: Promise<void> = Promise.resolve();
  /** Frames received and not yet handled (behind a hello being authenticated). */
  #queued = 0;
  #closed = false;
  #csrInFlight = false;
  /** The slice it last acknowledged (or resumed): what it runs. */
  #running: RoutingTable | null = null;

  constructor(ws: WebSocket, request: IncomingMessage, host: SessionHost) {
    this.#ws = ws;
    this.#host = host;
    this.#request = request;
    const socket = request.socket as Partial<RawSocket> | undefined;
    this.#raw = ws.extensions === '' && typeof socket?.write === 'function' && typeof socket.cork === 'function' && typeof socket.uncork === 'function' ? socket as RawSocket : null;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onFrame(data, isBinary));
    // Acks straight from the socket's bytes, when nothing is queued before them (ack-reader.ts).
    readAcksFirst(ws, (version) => {
      if (!this.hello || this.#queued > 0 || this.#closed) return false;
      // as #onFrame does: a failure refuses this session, never escapes the socket's 'data' event
      try {
        this.#ack(version);
      } catch (err) {
        this.#refuse('E_INTERNAL', (err as Error).message);
      }
      return true;
    });
  }

  /**
   * Frames are handled in arrival order. Only a hello waits for something (its authentication);
   * behind one, frames queue. With nothing queued a frame is handled at once, without a promise
   * or a microtask per frame: a route change at 1 000 agents brings 1 000 acks.
   */
  #onFrame(data: Buffer, isBinary: boolean): void {
    if (this.#queued > 0) {
      this.#enqueue(this.#queue.then(() => this.#receive(data, isBinary)));
      return;
    }
    let pending: Promise<void> | undefined;
    try {
      pending = this.#receive(data, isBinary);
    } catch (err) {
      this.#refuse('E_INTERNAL', (err as Error).message);
      return;
    }
    if (pending) this.#enqueue(pending);
  }

  #enqueue(work: Promise<void>): void {
    this.#queued++;
    this.#queue = work.catch((err: unknown) => this.#refuse('E_INTERNAL', (err as Error).message)).finally(() => void this.#queued--);
  }

  /** The subscriptions as the slice cache keys them. */
  get keyedTargets(): SessionTargets {
    if (!this.#targetsKeyed) {
      const keys = [...this.targets.keys()].sort();
      this.#targetsKeyed = { map: this.targets, key: keys.join(','), inbound: keys.some((k) => k.startsWith('inbound|')) };
    }
    return this.#targetsKeyed;
  }

  get label(): string {
    return this.hello ? `${this.hello.agent.namespace}/${this.hello.agent.pod} (${this.hello.agent.mode})` : `unidentified agent from ${this.#request.socket.remoteAddress ?? '?'}`;
  }

  /** Running the latest slice it was sent. */
  get upToDate(): boolean {
    return this.sent !== null && this.acked === this.sent.version;
  }

  /**
   * Running the routes of the latest slice it was sent: it acknowledged that slice, or one with
   * the same Gateways and Service frontends, where routes live (the same objects: translation
   * hands back unchanged entries as they were, and slices share their cut views). Propagated
   * counts this: a pod becoming ready changes no route, and must not count every proxy that calls
   * the Service as behind on it until the proxy acknowledges the new endpoints (issue 14).
   */
  get routesUpToDate(): boolean {
    if (this.sent === null) return false;
    if (this.acked === this.sent.version) return true;
    const r = this.#running;
    const t = this.sent.table;
    const same = <T>(x: readonly T[], y: readonly T[]): boolean => x === y || (x.length === y.length && x.every((e, i) => e === y[i]));
    return r !== null && same(r.services, t.services) && same(r.gateways, t.gateways);
  }

  status(): AgentStatus | null {
    if (!this.hello) return null;
    const a = this.hello.agent;
    return {
      pod: a.pod, namespace: a.namespace, serviceAccount: a.serviceAccount, mode: a.mode, subscriptions: this.targets.size,
      sentVersion: this.sent?.version ?? null, ackedVersion: this.acked, lastNack: this.lastNack,
    };
  }

  /**
   * Recomputes the slice and sends it if it differs from the last one sent. `newTable`: called
   * because the table changed (not the subscriptions), so the last slice sent is the previous
   * table's slice for these very subscriptions.
   */
  refresh(newTable = false): void {
    const table = this.#host.table();
    if (!this.hello || !table || this.#closed) return;
    const agent = { namespace: this.hello.agent.namespace, pod: this.hello.agent.pod, entryRule: this.#entryRule() };
    const { slice, routes } = this.#host.slice(agent, this.keyedTargets, newTable ? this.sent?.table : undefined);
    if (slice.version === this.sent?.version) {
      this.#host.sent(this, this.sent.table, this.sent.table); // its subscriptions may have changed
      // The same content (the same entries: the index above holds), maybe in new objects: keep
      // the current ones, which routesUpToDate compares with the next slice's.
      if (this.#running === this.sent.table) this.#running = slice;
      this.sent = { ...this.sent, routes, table: slice };
      return;
    }
    // A patch only on top of a version the agent confirmed running, and only when it touches
    // at most half of the slice's entries; otherwise the whole slice.
    const base = this.sent && this.acked === this.sent.version ? this.sent.table : null;
    const changes = base ? this.#host.diff(base, slice) : null;
    const size = changes ? changeSize(changes, slice) : null;
    const asPatch = !!(size && size.touched * 2 <= size.total);
    this.#host.sent(this, this.sent?.table ?? null, slice);
    this.sent = { version: slice.version, routes, table: slice, asPatch };
    if (base && changes && asPatch) {
      this.#host.metrics.patchesSentTotal++;
      this.#host.metrics.updateBytesTotal += this.#sendFrame(this.#host.frame(slice, { base, changes }));
    } else {
      this.#sendWhole();
    }
    this.#host.changed(this);
  }

  /**
   * A reconnecting agent that names the version it runs (its replica went away, or the
   * connection dropped): when its slice here has that version, it is recorded as sent and
   * acknowledged without sending it, so a failover of many agents costs no slices and
   * Propagated counts them at once. Versions are content hashes, the same on every replica
   * that computes the same slice, so this holds across replicas. Returns the version to echo in
   * the welcome, or undefined (no table yet, another slice): refresh() then sends it as before.
   */
  #resume(version: string | undefined): string | undefined {
    const table = this.#host.table();
    if (!version || !this.hello || !table) return undefined;
    const { slice, routes } = this.#host.slice({ namespace: this.hello.agent.namespace, pod: this.hello.agent.pod, entryRule: this.#entryRule() }, this.keyedTargets);
    if (slice.version !== version) return undefined;
    this.#host.sent(this, this.sent?.table ?? null, slice);
    this.sent = { version, routes, table: slice, asPatch: false };
    this.acked = version;
    this.#running = slice;
    this.#host.metrics.resumesTotal++;
    return version;
  }

  /** The agent checks entry-rule versions (its hello says so, ADR 0025): its slices are versioned by that rule. */
  #entryRule(): boolean {
    return this.hello?.versionRules?.includes(ENTRY_RULE) === true;
  }

  #sendWhole(): void {
    if (!this.sent) return;
    this.sent.asPatch = false;
    this.#host.metrics.updatesSentTotal++;
    this.#host.metrics.updateBytesTotal += this.#sendFrame(this.#host.frame(this.sent.table));
  }

  closed(): void {
    this.#closed = true;
    this.#host.sent(this, this.sent?.table ?? null, null);
  }

  /** A root rotation: the new trust bundle, to an agent that said hello. */
  sendTrustBundle(rootsPem: string[], renew: boolean): boolean {
    if (!this.hello) return false;
    return this.#send({ type: 'trust-bundle', id: 0, rootsPem, renew }) > 0;
  }

  #send(msg: ControllerMessage): number {
    // built behind room for its header, so the raw write frames it without a copy (ws-frame.ts)
    return this.#sendFrame(encodeFramed(encodeMessage(msg)));
  }

  /** Writes a text frame whose UTF-8 bytes are `frame` (shared by every agent sent the same: never modified). */
  #sendFrame(frame: EncodedFrame): number {
    if (this.#closed) return 0;
    // An agent that stopped reading would make us buffer every later slice: drop it instead
    // (it reconnects and resyncs when it recovers).
    if (this.#ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.#host.log(`${this.label} is not reading (${this.#ws.bufferedAmount} bytes queued); disconnecting`);
      this.#closed = true;
      this.#ws.terminate();
      return 0;
    }
    if (!this.#raw) this.#ws.send(payloadOf(frame), TEXT);
    // ws.send() after a close frame was sent or received writes nothing: neither do we.
    else if (this.#ws.readyState === OPEN) writeFrame(this.#raw, frame);
    return frame.length;
  }

  #refuse(code: string, message: string, label = this.label): void {
    if (this.#closed) return;
    this.#host.log(`closing ${label}: ${code}: ${message}`);
    this.#send({ type: 'error', code, message });
    this.#closed = true;
    this.#ws.close(1008, code);
  }

  /** Handles one frame; a promise only for a hello (authenticated asynchronously). */
  #receive(data: Buffer, isBinary: boolean): Promise<void> | undefined {
    if (this.#closed) return;
    // An ack as every agent spells it is read without JSON.parse (ack-frame.ts); any other
    // spelling goes through parseMessage, which accepts the same acks.
    const acked = this.hello && !isBinary ? ackVersion(data) : null;
    if (acked !== null) return void this.#ack(acked);
    let msg: AgentMessage;
    try {
      if (isBinary) throw new Error('binary frames are not part of the protocol');
      msg = parseMessage(data, 'agent') as AgentMessage;
    } catch (err) {
      if (!this.hello) this.#host.metrics.helloRejectedTotal++;
      else this.#host.metrics.protocolErrorsTotal++;
      const code = err instanceof WireProtocolUnsupportedError ? err.code : ((err as { code?: string }).code ?? 'E_WIRE_MESSAGE_INVALID');
      this.#refuse(code, (err as Error).message);
      return;
    }
    if (this.hello) return void this.#handle(msg);
    if (msg.type !== 'hello') {
      this.#host.metrics.helloRejectedTotal++;
      this.#refuse('E_WIRE_HELLO_EXPECTED', `the first message must be hello, got ${msg.type}`);
      return;
    }
    return this.#receiveHello(msg);
  }

  async #receiveHello(msg: HelloMessage): Promise<void> {
    try {
      await this.#host.authenticate(msg, this.#request);
      this.#host.checkIngress(msg, this.#request);
    } catch (err) {
      this.#host.metrics.helloRejectedTotal++;
      // Name what the refused hello claimed to be: the log must say who was turned away.
      const claimed = `${msg.agent.namespace}/${msg.agent.pod} (claimed ${msg.agent.mode}) from ${this.#request.socket.remoteAddress ?? '?'}`;
      this.#refuse((err as { code?: string }).code ?? 'E_WIRE_UNAUTHENTICATED', (err as Error).message, claimed);
      return;
    }
    const forbidden = msg.targets.find((t) => !allowed(msg.agent.mode, t));
    if (forbidden) {
      this.#host.metrics.helloRejectedTotal++;
      this.#refuse('E_WIRE_SUBSCRIPTION_FORBIDDEN', forbiddenMessage(msg.agent.mode, forbidden));
      return;
    }
    this.hello = msg;
    this.#host.metrics.agents++;
    for (const t of msg.targets) this.targets.set(targetKey(t), t);
    this.#targetsKeyed = null;
    const current = this.#resume(msg.version);
    this.#send({ type: 'welcome', protocol: WIRE_PROTOCOL, controller: this.#host.controllerId, ...(current ? { current } : {}) });
    // A rotation pushed while this agent was away must not wait for its next certificate.
    const roots = this.#host.trustBundle();
    if (roots.length > 0) this.#send({ type: 'trust-bundle', id: 0, rootsPem: roots, renew: false });
    this.refresh();
    this.#host.changed(this);
  }

  #handle(msg: AgentMessage): void {
    switch (msg.type) {
      case 'hello':
        this.#host.metrics.protocolErrorsTotal++;
        this.#refuse('E_WIRE_HELLO_REPEATED', 'hello was already received on this connection');
        return;
      case 'subscribe':
      case 'unsubscribe': {
        this.#host.metrics.subscribeRequestsTotal++;
        const forbidden = msg.type === 'subscribe' ? msg.targets.find((t) => !allowed(this.hello!.agent.mode, t)) : undefined;
        if (forbidden) {
          this.#host.metrics.protocolErrorsTotal++;
          return this.#refuse('E_WIRE_SUBSCRIPTION_FORBIDDEN', forbiddenMessage(this.hello!.agent.mode, forbidden));
        }
        this.#targetsKeyed = null;
        for (const t of msg.targets) {
          if (msg.type === 'unsubscribe') this.targets.delete(targetKey(t));
          else if (this.targets.size < WIRE_LIMITS.subscriptionsPerAgent) this.targets.set(targetKey(t), t);
          else return this.#refuse('E_WIRE_TOO_MANY_SUBSCRIPTIONS', `more than ${WIRE_LIMITS.subscriptionsPerAgent} subscriptions`);
        }
        this.refresh();
        this.#send({ type: 'subscribed', id: msg.id, version: this.sent?.version ?? '' });
        return;
      }
      case 'ack':
        this.#ack(msg.version);
        return;
      case 'nack':
        this.#host.metrics.nacksTotal++;
        this.lastNack = { version: msg.version, reason: msg.reason };
        // A patch the agent could not apply (its table is not the base): send the version whole,
        // once. A table it found invalid is not resent: the same content would fail again.
        if (msg.resend && msg.version === this.sent?.version && this.sent.asPatch) {
          this.#host.log(`${this.label} could not apply patch ${msg.version}, sending it whole: ${msg.reason}`);
          this.#sendWhole();
          return;
        }
        this.#host.logNack(this.label, msg.version, msg.reason);
        this.#host.changed(this);
        return;
      case 'ping':
        this.#send({ type: 'pong', nonce: msg.nonce });
        return;
      case 'pong':
        return;
      case 'csr':
        void this.#answerCsr(msg);
        return;
    }
  }

  #ack(version: string): void {
    this.#host.metrics.acksTotal++;
    if (version === this.sent?.version && this.acked !== version) {
      this.acked = version;
      this.#running = this.sent.table;
      this.#host.changed(this);
    }
  }

  /** One CSR at a time per connection: a renewal storm from one agent cannot queue work. */
  async #answerCsr(msg: CsrMessage): Promise<void> {
    const issue = this.#host.certificate;
    if (!issue) {
      this.#send({ type: 'certificate-error', id: msg.id, code: 'E_CA_UNAVAILABLE', message: 'this controller runs without a certificate authority', retryable: false });
      return;
    }
    if (this.#csrInFlight) {
      this.#send({ type: 'certificate-error', id: msg.id, code: 'E_CSR_INVALID', message: 'a CSR from this connection is already being answered', retryable: true });
      return;
    }
    this.#csrInFlight = true;
    try {
      const answer = await issue(msg, this.hello!);
      if (!this.#closed) this.#send({ ...answer, id: msg.id });
    } finally {
      this.#csrInFlight = false;
    }
  }
}
