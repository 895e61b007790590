// The agent's side of distribution: a TableSource fed by the controller's publisher. It says
// hello with the pod's identity, every subscription it holds (so a reconnect resyncs in one
// step) and the version it runs (a controller whose slice is that version sends nothing), validates each update (off the serving thread: wire-decoder.ts) and acks or nacks it by version, and subscribes on demand: the
// first connection to an unknown destination waits, bounded, for the controller's answer, later
// ones find it in the cache. Only an answer makes a destination known: until the controller has
// answered for it (away, or not answering in time), every ask reports "unanswered" and the sidecar
// refuses the connection rather than pass it through in plaintext, since the destination may
// be a meshed Service whose workloads expect mTLS (Linkerd's proxy fails such requests fast too).
// While the controller is away nothing is pushed, so the agent keeps serving its last good table
// and the destinations already answered; reconnects back off exponentially with jitter.
import type { CertificateAnswer } from '../identity/certificate-manager.ts';
import WebSocket, { type ClientOptions } from 'ws';
import type { RoutingTable } from '../../api/routing-table.ts';
import { ENTRY_RULE } from '../../api/version.ts';
import {
  WIRE_LIMITS, WIRE_PATH, WIRE_PROTOCOL, encodeMessage, targetKey,
  type AgentAuth, type AgentIdentity, type AgentMessage, type ControllerMessage, type SubscriptionTarget,
} from '../../api/wire.ts';
import { canonicalAddress } from '../route/compile.ts';
import { ManualTableSource, type TableSource } from '../table-source.ts';
import { Backoff } from './backoff.ts';
import { WireDecoder, type Decoded } from './wire-decoder.ts';

export interface ControllerClientOptions {
  /** ws:// or wss:// address of the controller; WIRE_PATH is added when the URL has no path. */
  url: string;
  agent: AgentIdentity;
  /** Sent in every hello; a function is asked again at each connection (a rotated token file). */
  auth?: AgentAuth | (() => AgentAuth);
  /** Subscribed from the start: the pod's inbound ports, the ingress's Gateways. */
  targets?: SubscriptionTarget[];
  /** How long a request to a destination the controller has not answered for waits (default 3 s). */
  onDemandTimeoutMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Reconnect when nothing (not even a WebSocket ping) arrived for this long (default 35 s). */
  silenceMs?: number;
  /** Give up a connection attempt whose opening handshake (TCP, TLS, upgrade) has not finished
   * in this long and try again (default 10 s). Without it a SYN nobody answers (a controller pod
   * gone behind a stale Service rule) holds the agent for the kernel's minutes of retries. */
  handshakeTimeoutMs?: number;
  /** TLS material and the like for the WebSocket (mTLS comes with the identity capability). */
  wsOptions?: ClientOptions;
  random?: () => number;
  log?: (line: string) => void;
  /** The decoding worker is let go after this long without a frame (wire-decoder.ts, default 30 s). */
  decoderIdleMs?: number;
}

export interface ControllerClientStats {
  connects: number;
  updates: number;
  patches: number;
  acks: number;
  nacks: number;
  onDemandTimeouts: number;
  /** Destination subscriptions dropped to stay under the per-agent limit. */
  evictions: number;
  /** Reconnects where the controller said the table we run is current (nothing was sent). */
  resumes: number;
}

interface Pending {
  promise: Promise<boolean>;
  resolve: (answered: boolean) => void;
}

/** The default wait for an on-demand answer; then the connection is refused (see the header). */
export const ON_DEMAND_TIMEOUT_MS = 3_000;

export function controllerUrl(url: string): string {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = WIRE_PATH;
  return u.toString();
}

export class ControllerClient implements TableSource {
  #opts: ControllerClientOptions;
  readonly #url: string;
  readonly #log: (line: string) => void;
  readonly #backoff: Backoff;
  /** The tables received, for subscribers (the sidecar's TableHolder, `ready()`). */
  readonly #tables = new ManualTableSource();
  #evictionLogged = false;
  readonly #targets = new Map<string, SubscriptionTarget>();
  /** On-demand keys still waiting for their first answer. */
  readonly #pending = new Map<string, Pending>();
  /**
   * Subscriptions a controller has answered: the table in force reflects them (the destination
   * is in it, or is not a mesh destination). Kept across reconnects, as the table is.
   */
  readonly #answered = new Set<string>();
  /** Keys a controller acknowledged before it had any table: its first update answers them. */
  #awaitingTable: string[] = [];
  /** Subscribe request id → the on-demand keys it answers. */
  readonly #requests = new Map<number, string[]>();
  readonly stats: ControllerClientStats = { connects: 0, updates: 0, patches: 0, acks: 0, nacks: 0, onDemandTimeouts: 0, evictions: 0, resumes: 0 };
  #ws: WebSocket | null = null;
  #clientCert: { certPem: string; keyPem: string; notAfter: Date } | null = null;
  #sentAuth: AgentAuth['type'] | null = null;
  #certRefused = false;
  #welcomed = false;
  /** Hello sent on the open connection: later subscribe requests queue behind it. */
  #helloSent = false;
  /** On-demand keys the hello carried: the connection's first update answers them. */
  #helloKeys: string[] = [];
  #nextId = 1;
  #configuredCa: string[] | undefined;
  readonly #trustListeners = new Set<(rootsPem: string[], renew: boolean) => void>();
  /** The last trust bundle the controller sent (sorted roots joined); null before the first. */
  #trustKey: string | null = null;
  readonly #csr = new Map<number, { csrPem: string; token: string; sent: boolean; resolve: (a: CertificateAnswer) => void; reject: (e: Error) => void }>();
  #retry: NodeJS.Timeout | null = null;
  #silence: NodeJS.Timeout | null = null;
  #closed = false;
  /** Parses frames and validates tables off the serving thread (issue 15), in frame order. */
  readonly #decoder: WireDecoder;
  /** Counts connections, so that results of frames from a closed one are not answered on the next. */
  #conn = 0;

  constructor(opts: ControllerClientOptions) {
    this.#opts = opts;
    this.#url = controllerUrl(opts.url);
    this.#log = opts.log ?? ((line) => void process.stderr.write(`meshlet agent: ${line}\n`));
    this.#backoff = new Backoff({ initialMs: opts.backoff?.initialMs ?? 250, maxMs: opts.backoff?.maxMs ?? 15_000, random: opts.random ?? Math.random });
    for (const t of opts.targets ?? []) this.#targets.set(targetKey(t), t);
    this.#decoder = new WireDecoder({
      onResult: (r) => this.#decoded(r),
      onFailure: (err) => {
        this.#log(`decoding the controller's messages failed: ${err.message}; reconnecting to resync`);
        this.#ws?.terminate();
      },
      idleMs: opts.decoderIdleMs,
    });
  }

  /** Whether the decoding worker is running (it is let go when the controller is quiet). */
  get decoding(): boolean {
    return this.#decoder.running;
  }

  /** Connected and greeted by a controller. */
  get connected(): boolean {
    return this.#welcomed;
  }

  get current(): RoutingTable | null {
    return this.#tables.current;
  }

  /** Keys of the subscriptions held (what a reconnect resends). */
  get subscriptions(): string[] {
    return [...this.#targets.keys()];
  }

  start(): this {
    if (!this.#ws && !this.#closed) this.#connect();
    return this;
  }

  close(): void {
    this.#closed = true;
    this.#decoder.close();
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#silence) clearTimeout(this.#silence);
    this.#ws?.terminate();
    this.#ws = null;
    this.#welcomed = false;
    this.#helloSent = false;
    for (const p of [...this.#pending.values()]) p.resolve(false);
    this.#pending.clear();
  }

  /** Whether a controller has answered for this destination (see the header). */
  answered(address: string, port: number): boolean {
    return this.#answered.has(targetKey({ kind: 'destination', address: canonicalAddress(address), port }));
  }

  subscribe(onTable: (t: RoutingTable) => void): () => void {
    return this.#tables.subscribe(onTable);
  }

  /** Resolves with the first table (or the current one); rejects after timeoutMs. */
  ready(timeoutMs = 10_000): Promise<RoutingTable> {
    return this.#tables.ready(timeoutMs, this.#url);
  }

  /**
   * On-demand subscription for a destination the app dialled. Resolves true at once when a
   * controller has answered for it; otherwise true once the controller answers (its update, if
   * any, is then in force), or false after onDemandTimeoutMs without an answer (controller away
   * or slow: the caller must not treat the destination as outside the mesh). Never rejects.
   */
  ensureDestination(address: string, port: number): Promise<boolean> {
    return this.ensure({ kind: 'destination', address: canonicalAddress(address), port });
  }

  ensure(target: SubscriptionTarget): Promise<boolean> {
    const key = targetKey(target);
    if (this.#answered.has(key)) return Promise.resolve(true);
    const pending = this.#pending.get(key);
    if (pending) return pending.promise;
    if (this.#closed) return Promise.resolve(false);
    // Subscribed but never answered (asked while the controller was away or slow): the next
    // hello carries it, or the request already sent answers it; wait for that again, bounded.
    if (this.#targets.has(key)) return this.#wait(key);
    if (this.#targets.size >= WIRE_LIMITS.subscriptionsPerAgent) {
      // Full: drop the oldest destination subscription rather than silently ignore a new
      // Service's routes. A destination still in use is asked for again on its next connection.
      const oldest = [...this.#targets.entries()].find(([k, t]) => t.kind === 'destination' && !this.#pending.has(k));
      if (!oldest) return Promise.resolve(false); // every one still waiting: nothing to drop
      if (!this.#evictionLogged) {
        this.#evictionLogged = true;
        this.#log(`${WIRE_LIMITS.subscriptionsPerAgent} subscriptions held: dropping the oldest destinations to make room (logged once)`);
      }
      this.stats.evictions++;
      this.unsubscribeTargets([oldest[1]]);
    }
    this.#targets.set(key, target);
    const promise = this.#wait(key);
    // Not connected: the hello of the next connection carries it.
    if (this.#helloSent) this.#request('subscribe', [target], [key]);
    return promise;
  }

  /** A bounded wait for the controller's answer about `key` (shared by concurrent askers). */
  #wait(key: string): Promise<boolean> {
    let resolve!: (answered: boolean) => void;
    const promise = new Promise<boolean>((r) => (resolve = r));
    const timer = setTimeout(() => {
      this.stats.onDemandTimeouts++;
      done(false);
    }, this.#opts.onDemandTimeoutMs ?? ON_DEMAND_TIMEOUT_MS);
    const done = (answered: boolean): void => {
      clearTimeout(timer);
      if (this.#pending.get(key)?.promise === promise) this.#pending.delete(key);
      resolve(answered);
    };
    this.#pending.set(key, { promise, resolve: done });
    return promise;
  }

  /** The controller answered for these keys: the table in force now reflects them. */
  #answer(keys: Iterable<string>): void {
    for (const key of keys) {
      if (!this.#targets.has(key)) continue; // unsubscribed meanwhile
      this.#answered.add(key);
      this.#pending.get(key)?.resolve(true);
    }
  }

  /** Drops subscriptions (e.g. destinations the app stopped using). */
  unsubscribeTargets(targets: SubscriptionTarget[]): void {
    const gone = targets.filter((t) => this.#targets.delete(targetKey(t)));
    for (const t of gone) this.#answered.delete(targetKey(t));
    for (let i = 0; i < gone.length; i += WIRE_LIMITS.targetsPerMessage) {
      if (this.#helloSent) this.#request('unsubscribe', gone.slice(i, i + WIRE_LIMITS.targetsPerMessage), []);
    }
  }

  /** Hears trust-bundle pushes (a root rotation); returns the unsubscribe. */
  onTrustBundle(listener: (rootsPem: string[], renew: boolean) => void): () => void {
    this.#trustListeners.add(listener);
    return () => this.#trustListeners.delete(listener);
  }

  /**
   * Verifies the controller against these roots (plus the ones configured) on the next
   * connections: after a root rotation the controller's certificate comes from the new root,
   * which the mounted root file may not hold yet.
   */
  trustRoots(rootsPem: string[]): void {
    const ca = this.#opts.wsOptions?.ca;
    if (ca === undefined) return;
    const configured = this.#configuredCa ??= (Array.isArray(ca) ? ca : [ca]).map(String);
    this.#opts = { ...this.#opts, wsOptions: { ...this.#opts.wsOptions, ca: [...new Set([...configured, ...rootsPem])] } };
  }

  /**
   * Asks the controller's CA for a certificate (the CertificateManager's requestCertificate).
   * Waits for a welcomed connection; rejects when it is lost or no answer comes in time, so the
   * manager retries with backoff and keeps its current certificate meanwhile.
   */
  requestCertificate(csrPem: string, token: string, timeoutMs = 30_000): Promise<CertificateAnswer> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const timer = setTimeout(() => {
        this.#csr.delete(id);
        reject(new Error(`no certificate answer from the controller within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref?.();
      this.#csr.set(id, { csrPem, token, sent: false, resolve: (a) => { clearTimeout(timer); resolve(a); }, reject: (e) => { clearTimeout(timer); reject(e); } });
      this.#flushCsrs();
    });
  }

  #flushCsrs(): void {
    if (!this.#welcomed) return;
    for (const [id, w] of this.#csr) {
      if (w.sent) continue;
      w.sent = true;
      this.#send({ type: 'csr', id, csrPem: w.csrPem, token: w.token });
    }
  }

  #auth(): AgentAuth {
    const a = this.#opts.auth;
    return (typeof a === 'function' ? a() : a) ?? { type: 'none' };
  }

  #clientCertValid(): boolean {
    return this.#clientCert !== null && !this.#certRefused && Date.now() < this.#clientCert.notAfter.getTime();
  }

  /** How the current (or last) connection authenticated: what the hello said. */
  get authType(): AgentAuth['type'] | null {
    return this.#sentAuth;
  }

  /**
   * Authenticate the config channel with this workload certificate from now on (the controller
   * then takes our identity from it). A connection that authenticated otherwise (the first one,
   * with the token, that obtained the certificate) is replaced at once; renewals only change what
   * the next connection presents. An expired certificate is not presented: the token is.
   */
  useClientCertificate(cert: { certPem: string; keyPem: string; notAfter: Date }): void {
    this.#clientCert = cert;
    this.#certRefused = false;
    const ws = this.#ws;
    if (ws && this.#sentAuth !== 'client-certificate' && this.#clientCertValid()) {
      this.#log('reconnecting to the controller with our workload certificate');
      ws.close();
    }
  }

  #request(type: 'subscribe' | 'unsubscribe', targets: SubscriptionTarget[], keys: string[]): void {
    const id = this.#nextId++;
    if (keys.length > 0) this.#requests.set(id, keys);
    this.#send({ type, id, targets });
  }

  #send(msg: AgentMessage): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(encodeMessage(msg));
  }

  #connect(): void {
    const cert = this.#clientCertValid() ? { cert: this.#clientCert!.certPem, key: this.#clientCert!.keyPem } : {};
    const ws = new WebSocket(this.#url, { handshakeTimeout: this.#opts.handshakeTimeoutMs ?? 10_000, ...this.#opts.wsOptions, ...cert, perMessageDeflate: false });
    this.#ws = ws;
    this.#requests.clear();
    ws.on('open', () => {
      this.#alive();
      this.#helloSent = true;
      this.#helloKeys = [...this.#targets.keys()];
      this.#awaitingTable = [];
      const auth = 'cert' in cert ? { type: 'client-certificate' as const } : this.#auth();
      this.#sentAuth = auth.type;
      // The version we run lets the controller skip sending the same slice again (resume).
      const version = this.#tables.current?.version;
      this.#send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: this.#opts.agent, auth, targets: [...this.#targets.values()], versionRules: [ENTRY_RULE], ...(version ? { version } : {}) });
    });
    ws.on('ping', () => this.#alive());
    const conn = ++this.#conn;
    ws.on('message', (data: Buffer) => {
      this.#alive();
      this.#decoder.decode(conn, data);
    });
    ws.on('error', (err) => {
      if (this.#welcomed || this.stats.connects === 0) this.#log(`controller ${this.#url}: ${err.message}`);
    });
    ws.on('close', () => {
      if (this.#ws !== ws) return;
      if (this.#welcomed) this.#log(`lost the controller at ${this.#url}; serving the last good table ${this.#tables.current?.version ?? '(none)'} until it is back`);
      this.#ws = null;
      this.#welcomed = false;
      this.#helloSent = false;
      if (this.#silence) clearTimeout(this.#silence);
      // Answers that will never come: the on-demand waits fall back on their timeout, and the
      // next hello resubscribes to everything; a CSR in flight fails (the manager retries).
      this.#requests.clear();
      for (const [id, w] of this.#csr) if (w.sent) {
        this.#csr.delete(id);
        w.reject(new Error('the controller connection closed before the certificate arrived'));
      }
      if (!this.#closed) this.#retry = setTimeout(() => this.#connect(), this.#backoff.next());
    });
  }

  #receive(msg: ControllerMessage): void {
    switch (msg.type) {
      case 'welcome':
        this.#welcomed = true;
        this.#backoff.reset();
        this.stats.connects++;
        this.#log(`connected to controller ${msg.controller} at ${this.#url} (${this.#targets.size} subscriptions${msg.current ? `, resuming table ${msg.current}` : ''})`);
        if (msg.current !== undefined) this.#resumed(msg.current);
        this.#flushCsrs();
        return;
      case 'update':
      case 'patch':
        // Decoded and validated by the worker: #decoded() applies them.
        return;
      case 'subscribed': {
        // The controller refreshed our slice before saying so: the table in force reflects the
        // request, unless the controller had no table yet (version ''): then its first update does.
        const keys = this.#requests.get(msg.id) ?? [];
        this.#requests.delete(msg.id);
        if (msg.version === '') this.#awaitingTable.push(...keys);
        else this.#answer(keys);
        return;
      }
      case 'error':
        this.#log(`controller refused us: ${msg.code}: ${msg.message}`);
        // A controller that will not take our certificate (e.g. we are not the identity it
        // expects for an ingress): go back to the token rather than be refused forever.
        if (this.#sentAuth === 'client-certificate' && msg.code === 'E_WIRE_AGENT_UNAUTHENTICATED') {
          this.#certRefused = true;
          this.#log('authenticating to the controller with the token again (our certificate was refused)');
        }
        return;
      case 'ping':
        this.#send({ type: 'pong', nonce: msg.nonce });
        return;
      case 'pong':
        return;
      case 'trust-bundle': {
        // Sent after every welcome too: only a different bundle (or a renewal) is news.
        const key = [...msg.rootsPem].sort().join('');
        if (key === this.#trustKey && !msg.renew) return;
        const first = this.#trustKey === null;
        this.#trustKey = key;
        if (!first || msg.renew) this.#log(`controller: the mesh trust bundle changed (${msg.rootsPem.length} root(s)${msg.renew ? '; renewing our certificate' : ''})`);
        for (const l of this.#trustListeners) l(msg.rootsPem, msg.renew);
        return;
      }
      case 'certificate':
      case 'certificate-error': {
        const w = this.#csr.get(msg.id);
        this.#csr.delete(msg.id);
        const { id: _id, ...answer } = msg;
        w?.resolve(answer);
        return;
      }
    }
  }

  /** A frame the worker decoded (in frame order); results of a closed connection are not answered. */
  #decoded(r: Decoded): void {
    const live = r.conn === this.#conn && this.#ws !== null;
    switch (r.kind) {
      case 'message':
        if (live) this.#receive(r.msg);
        return;
      case 'invalid':
        if (!live) return;
        this.#log(`controller sent an invalid frame, reconnecting: ${r.message}`);
        this.#ws?.terminate();
        return;
      case 'refused':
        if (r.type === 'patch') this.stats.patches++;
        this.stats.updates++;
        if (live) this.#nack(r.version, r.reason, r.resend);
        return;
      case 'table':
        if (r.type === 'patch') this.stats.patches++;
        this.stats.updates++;
        // Swapped in even from a closed connection: the worker patches the next table onto it.
        // A reconnect resends the slice we already run: acknowledge it without a second swap.
        if (this.#tables.current?.version !== r.version) this.#tables.push(r.table);
        if (!live) return;
        this.stats.acks++;
        this.#send({ type: 'ack', version: r.version });
        // The connection's first update is the slice of every target the hello carried.
        if (r.type === 'update') this.#answer([...this.#helloKeys.splice(0), ...this.#awaitingTable.splice(0)]);
        else this.#answer(this.#awaitingTable.splice(0));
        return;
    }
  }

  /**
   * The controller's slice for our hello is the version we named, so no update follows: the
   * table in force reflects every target the hello carried, as the first update would have.
   * A table from the old connection may have been swapped in after the hello left (its frames
   * are decoded in order, before this welcome); then the controller counts a version we no
   * longer run, so start over with a hello that names the right one.
   */
  #resumed(version: string): void {
    if (this.#tables.current?.version !== version) {
      this.#log(`controller resumed table ${version} but we run ${this.#tables.current?.version ?? '(none)'}; reconnecting`);
      this.#ws?.close();
      return;
    }
    this.stats.resumes++;
    this.#answer(this.#helloKeys.splice(0));
  }

  #nack(version: string, why: string, resend = false): void {
    this.stats.nacks++;
    const reason = why.slice(0, WIRE_LIMITS.reasonLength);
    this.#log(`refusing routing table ${version} from the controller: ${reason}`);
    this.#send({ type: 'nack', version, reason, resend });
  }

  #alive(): void {
    if (this.#silence) clearTimeout(this.#silence);
    const ws = this.#ws;
    this.#silence = setTimeout(() => {
      this.#log(`no word from the controller for ${this.#opts.silenceMs ?? 35_000} ms; reconnecting`);
      ws?.terminate();
    }, this.#opts.silenceMs ?? 35_000);
    this.#silence.unref();
  }
}
