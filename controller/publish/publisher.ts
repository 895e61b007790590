// The publisher: a WebSocket server (15012) that hands each connected agent its slice of the
// current routing table. setTable() recomputes every agent's slice and sends only those that
// changed; acks and nacks are kept per agent so propagation() can tell the status writer how
// many proxies that use a route run its latest version. Dead agents are found by WebSocket
// pings and dropped; agents reconnect and resubscribe on their own.
import type { CertificateErrorMessage, CertificateMessage, CsrMessage } from '../../api/identity.ts';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type https from 'node:https';
import { WebSocketServer, type WebSocket } from 'ws';
import { PORTS } from '../../api/names.ts';
import { ENTRY_RULE } from '../../api/version.ts';
import type { BackendIR, RoutingTable } from '../../api/routing-table.ts';
import { WIRE_LIMITS, WIRE_PATH, encodeMessage, type HelloMessage, type TableChanges } from '../../api/wire.ts';
import { AgentSession, type AgentStatus, type SessionHost, type SessionTargets } from './agent-session.ts';
import { emptyMetrics, PropagationLatency, renderMetrics, type AckState, type PublisherMetrics } from './metrics.ts';
import { RouteGenerations } from './route-generations.ts';
import { MovedRoutes } from './moved-routes.ts';
import { diffTables } from './diff.ts';
import { EndpointChanges, notePatched } from './endpoint-changes.ts';
import { noteRebased, rebaseChanges } from './rebase-changes.ts';
import { encodeFramed } from './ws-frame.ts';
import { PatchFrames, payloadOf, type EncodedFrame } from './patch-frame.ts';
import { checkIngress } from './ingress-auth.ts';
import { canonicalIp, derivedTable, frontendRoutes, patchSlice, policyPods, routeKey, routesIn, sliceTable } from './slice.ts';
import { entryDelta, rebaseSlice, type EntryDelta } from './rebase-slice.ts';
import { TableVersioner } from '../translate/table-version.ts';

const SECTIONS = ['gateways', 'services', 'backends', 'secrets'] as const;

/** A slice's entry keys, built once per slice: a slice is tracked when sent and again when replaced. */
const entryKeysOf = new WeakMap<RoutingTable, string[]>();

/** What a session holding a slice subscribed to, by kind (Publisher.#track). */
const sliceFlags = new WeakMap<RoutingTable, { inbound: boolean; gateways: boolean; unresolved: boolean }>();

/** A slice's route keys (routesIn), by slice: a rebased slice whose entries hold the same routes shares its last one's set. */
const routesOf = new WeakMap<RoutingTable, Set<string>>();

/**
 * The route set of `last` (the session's slice of the table before) when `slice` holds, frontend
 * by frontend, the same route keys (a route's rules changed, not which routes there are; a
 * rebased slice keeps its frontends' order), and neither holds Gateways: routesIn() of both is
 * then the same. Else null.
 */
function rebasedRoutes(slice: RoutingTable, last: RoutingTable): Set<string> | null {
  const routes = routesOf.get(last);
  if (!routes || slice.gateways.length > 0 || last.gateways.length > 0 || slice.services.length !== last.services.length) return null;
  for (let i = 0; i < slice.services.length; i++) {
    const a = slice.services[i]!;
    const b = last.services[i]!;
    if (a === b) continue;
    const x = frontendRoutes(a);
    const y = frontendRoutes(b);
    if (x !== y && (x.length !== y.length || x.some((k, j) => k !== y[j]))) return null;
  }
  return routes;
}

/** The two tables hold entries of the same names, section by section (policies aside). */
function sameNames(a: RoutingTable, b: RoutingTable): boolean {
  for (const sec of SECTIONS) {
    const x = a[sec] as { name: string }[];
    const y = b[sec] as { name: string }[];
    if (x === y) continue;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i]!.name !== y[i]!.name) return false;
  }
  return true;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** `section/name` of every entry of a table (policies aside). */
function entryKeys(table: RoutingTable): string[] {
  let keys = entryKeysOf.get(table);
  if (!keys) entryKeysOf.set(table, (keys = SECTIONS.flatMap((sec) => (table[sec] as { name: string }[]).map((x) => `${sec}/${x.name}`))));
  return keys;
}

/**
 * The backends of `next` that differ from `prev`'s when nothing else does (same Gateways, Service
 * frontends, secrets and policies, by identity, and the same backends by name): what an endpoint
 * patch (controller/translate/endpoint-patch.ts) produces. Null for any other change.
 */
export function endpointDelta(prev: RoutingTable, next: RoutingTable): Map<string, BackendIR> | null {
  if (prev.apiVersion !== next.apiVersion || prev.gateways !== next.gateways || prev.services !== next.services
    || prev.secrets !== next.secrets || prev.policies !== next.policies || prev.backends.length !== next.backends.length) return null;
  const out = new Map<string, BackendIR>();
  for (let i = 0; i < next.backends.length; i++) {
    const a = prev.backends[i]!;
    const b = next.backends[i]!;
    if (a === b) continue;
    if (a.name !== b.name) return null;
    out.set(b.name, b);
  }
  return out;
}

const NACK_LOG_LINES = 5;
/** Each agent is pinged once per heartbeat interval, in one of this many groups spread over it. */
const HEARTBEAT_SLOTS = 10;
/** How long after a publication unacknowledged agents count as a propagation in flight. */
const PROPAGATING_MS = 10_000;

export interface PublisherOptions {
  /** Default 0.0.0.0; ignored when `server` is given. */
  host?: string;
  /** Default 15012; 0 picks a free port (tests). Ignored when `server` is given. */
  port?: number;
  /** Serve on an existing (e.g. mTLS) server instead of a plain one of our own. */
  server?: http.Server | https.Server;
  /** Names this replica in welcome frames and logs. */
  controllerId?: string;
  log?: (line: string) => void;
  /** Interval of WebSocket pings; an agent that misses one whole interval is dropped. */
  heartbeatMs?: number;
  /** An agent that has not said hello by then is disconnected. */
  helloTimeoutMs?: number;
  /** Checks the hello's auth (token, client certificate); throw to refuse. Default: accept. */
  authenticate?: (hello: HelloMessage, request: http.IncomingMessage) => void | Promise<void>;
  /**
   * The bearer token an ingress must send to subscribe to Gateways (with their private keys),
   * asked for at each ingress hello; throwing refuses. Without it only loopback connections may
   * be an ingress. Checked after `authenticate`, whatever that accepts.
   */
  ingressToken?: (() => string) | undefined;
  /** Whether `authenticate` proved a hello to be the ingress's ServiceAccount (see token-review.ts). */
  ingressProven?: ((hello: HelloMessage) => boolean) | undefined;
  /** Whether a connection is from this host (default: its remote address is loopback); tests inject. */
  isLoopback?: (remoteAddress: string | undefined) => boolean;
  /**
   * The mesh CA: answers an agent's CSR (controller/identity's CsrAuthorizer). Without it a CSR
   * gets a certificate-error saying this controller issues no certificates.
   */
  certificate?: (csr: CsrMessage, hello: HelloMessage) => Promise<CertificateMessage | CertificateErrorMessage>;
  /** The mesh's current trust bundle (the CA's roots), sent to every agent right after its
   * welcome: an agent that was away during a rotation's push learns the new roots at once. */
  trustBundle?: () => string[];
}

export interface RouteRef {
  kind: string;
  namespace: string;
  name: string;
}

export interface Propagation {
  /** Connected agents whose slice holds the route and that run its routes (AgentSession.routesUpToDate). */
  upToDate: number;
  /** Connected agents whose slice holds the route. */
  total: number;
  /** Number of the published table in which the route last changed; 0 if it is not published. */
  generation: number;
}

/** A connected agent for summing acks across replicas (controller/status/ack-record.ts). */
export interface AgentAcks {
  /** `namespace/pod` */
  agent: string;
  /** Route key → the route's fingerprint in the table its slice came from. */
  routes: ReadonlyMap<string, string>;
  /** Runs the routes of its latest slice (an endpoint patch not yet acknowledged leaves it so). */
  upToDate: boolean;
}

export class Publisher {
  readonly #wss: WebSocketServer;
  readonly #sessions = new Set<AgentSession>();
  readonly #listeners = new Set<() => void>();
  /** Routes whose propagation() answer may have moved since the status writer last asked (movedRoutes()). */
  readonly #moved = new MovedRoutes();
  readonly #generations = new RouteGenerations(this.#moved);
  readonly #metrics = emptyMetrics();
  /** meshlet_controller_propagation_seconds (issue 11). */
  readonly #latency = new PropagationLatency();
  readonly #connected = (s: AckState): boolean => this.#sessions.has(s as AgentSession);
  readonly #opts: PublisherOptions;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #host: SessionHost;
  #table: RoutingTable | null = null;
  #lastPublished = -Infinity;
  #notifyScheduled = false;
  /**
   * Route key → counts over the agents that were sent a slice, kept in step with them: a session
   * whose slice, acks or connection changed is marked stale, and only the stale ones are counted
   * again at the next propagation(), so 1 000 acks cost 1 000 recounts of a few routes each, not a
   * pass over every agent for each status pass.
   */
  readonly #counts = new Map<string, { upToDate: number; total: number }>();
  /** What each session adds to #counts: the routes of the slice it was sent, and whether it runs them. */
  readonly #counted = new Map<AgentSession, { routes: ReadonlySet<string>; ok: boolean }>();
  /** Sessions whose share of #counts may be out of date. */
  readonly #stale = new Set<AgentSession>();
  /** Sessions recounted so far (tests pin the incremental counting with it). */
  #recounted = 0;
  /** Bumped with every change propagation() or agentAcks() could see. */
  #ackEpoch = 0;
  /** A slice's route set → its routes with fingerprints; slices are shared, so are these. */
  #fingerprinted = new WeakMap<ReadonlySet<string>, Map<string, string>>();
  // Replicas of a Deployment subscribe alike: their slices (and the patches between two
  // slices) are computed once per table, not once per agent. Both are emptied by setTable().
  readonly #slices = new Map<string, { slice: RoutingTable; routes: Set<string> }>();
  /** policyPods() of the current table, computed at the first slice after it changed. */
  #policyPods: Set<string> | null = null;
  /** A session's slice cache key, by its subscriptions object, and the policyPods() it was made with. */
  readonly #sliceKeys = new WeakMap<SessionTargets, { pods: Set<string>; key: string }>();
  /**
   * Per slice, by the version of the base an agent runs: the diff to it and the patch frame built
   * on it. Found through the slice object and the version string it already holds, so an agent
   * costs two lookups, not two key strings built and hashed (1 000 per change). Replaced by
   * setTable(); whole slices' frames are kept by slice in #updateFrames.
   */
  #fromBase = new WeakMap<RoutingTable, Map<string, { changes: TableChanges; frame?: EncodedFrame }>>();
  /** The changes of patch frames, serialised once per distinct set of changed entries. */
  readonly #patchEncoder = new PatchFrames();
  #updateFrames = new WeakMap<RoutingTable, EncodedFrame>();
  /** Update and patch frames built (each written to every agent it is for). */
  #framesEncoded = 0;
  /** The endpoint change in force: the changes of the slices it patched, without diffing them. */
  #endpointChanges: EndpointChanges | null = null;
  /** Slices diffed (diffTables), counted for tests. */
  #diffed = 0;
  /** Slices' versions, serialising each table entry once for all the slices holding it. */
  readonly #versioner = new TableVersioner();
  // The endpoint fast path (the EDS idea): which agents and which cached slices hold each
  // backend, so an endpoint change reaches exactly the agents whose slice holds it.
  /** `section/name` of a table entry (`backends/service/ns/name/80`) → sessions whose last sent slice holds it. */
  readonly #holders = new Map<string, Set<AgentSession>>();
  /** Sessions subscribed to inbound ports: their slices pick backends by endpoint, so any backend change re-slices them. */
  readonly #inbound = new Set<AgentSession>();
  /** Sessions with a destination no frontend answers yet: a new or changed frontend may. */
  readonly #unresolved = new Set<AgentSession>();
  /** Sessions subscribed to Gateways (the ingress): a new Gateway may be theirs. */
  readonly #gatewayUsers = new Set<AgentSession>();
  /** Backend name → keys of cached slices holding it. */
  readonly #sliceKeysByBackend = new Map<string, Set<string>>();
  /** Keys of cached slices with inbound subscriptions. */
  readonly #inboundKeys = new Set<string>();
  /**
   * While setTable() refreshes the sessions of a route change: what changed, so that a session's
   * new slice is its last one with the replaced entries swapped in (rebase-slice.ts).
   */
  #rebase: { changes: EntryDelta; samePolicies: boolean } | null = null;
  /** While setTable() refreshes the sessions of an endpoint change: the cached slices still to patch with its backends. */
  #toPatch: { delta: Map<string, BackendIR>; keys: Set<string> } | null = null;
  /** Refusals logged per table version (see logNack). */
  readonly #nackLog = new Map<string, number>();

  private constructor(wss: WebSocketServer, opts: PublisherOptions) {
    this.#wss = wss;
    this.#opts = opts;
    const log = opts.log ?? ((line: string) => void process.stderr.write(`meshlet publisher: ${line}\n`));
    this.#host = {
      controllerId: opts.controllerId ?? `controller-${randomUUID().slice(0, 8)}`,
      metrics: this.#metrics,
      table: () => this.#table,
      slice: (agent, targets, last) => this.#slice(agent, targets, last),
      diff: (base, next) => {
        let bases = this.#fromBase.get(next);
        if (!bases) this.#fromBase.set(next, (bases = new Map<string, { changes: TableChanges; frame?: EncodedFrame }>()));
        let d = bases.get(base.version);
        if (!d) {
          let changes = this.#endpointChanges?.of(base, next) ?? rebaseChanges(base, next, (v) => this.#versioner.json(v));
          if (!changes) {
            this.#diffed++;
            changes = diffTables(base, next, (v) => this.#versioner.json(v));
          }
          bases.set(base.version, (d = { changes }));
        }
        return d.changes;
      },
      frame: (slice, patch) => {
        if (!patch) {
          let f = this.#updateFrames.get(slice);
          if (!f) {
            // Behind room for its WebSocket header: written framed to each agent without a framed copy kept beside it.
            this.#updateFrames.set(slice, (f = encodeFramed(encodeMessage({ type: 'update', version: slice.version, table: slice }))));
            this.#framesEncoded++;
          }
          return f;
        }
        const d = this.#fromBase.get(slice)?.get(patch.base.version);
        // A second agent with this very frame (they share the slice): from now on the frame's two
        // parts joined once, one plain write per agent (ws-frame.ts SplitFrame).
        if (d?.frame && d.changes === patch.changes) return (d.frame = payloadOf(d.frame));
        const f = this.#patchEncoder.frame(slice.version, patch.base.version, patch.changes);
        this.#framesEncoded++;
        if (d?.changes === patch.changes) d.frame = f;
        return f;
      },
      sent: (session, before, after) => this.#track(session, before, after),
      log,
      certificate: opts.certificate ?? null,
      trustBundle: opts.trustBundle ?? (() => []),
      logNack: (label, version, reason) => {
        // The first few refusals of a version name the agents; the rest are counted only, so a
        // table that every agent refuses costs a handful of lines, not one per agent.
        const n = (this.#nackLog.get(version) ?? 0) + 1;
        if (this.#nackLog.size > 100) this.#nackLog.clear();
        this.#nackLog.set(version, n);
        if (n <= NACK_LOG_LINES) log(`${label} refused routing table ${version}: ${reason}`);
        if (n === NACK_LOG_LINES) log(`further refusals of routing table ${version} are counted (meshlet_publisher_nacks_total), not logged`);
      },
      authenticate: opts.authenticate ?? (() => undefined),
      checkIngress: (hello, request) => checkIngress(hello, request.socket.remoteAddress, { token: opts.ingressToken, isLoopback: opts.isLoopback, proven: opts.ingressProven }),
      changed: (session) => {
        if (this.#sessions.has(session)) this.#stale.add(session);
        this.#ackEpoch++;
        this.#latency.changed(this.#connected, session);
        this.#scheduleNotify();
      },
    };
    wss.on('connection', (ws, req) => this.#accept(ws, req));
    const alive = new WeakSet<WebSocket>();
    // Pings are spread over the interval, a tenth of the agents every tenth of it: pinging 1 000
    // agents at once is 1 000 writes in one turn, which a route change arriving then waits behind.
    const slotOf = new WeakMap<WebSocket, number>();
    let connections = 0;
    let turn = 0;
    wss.on('connection', (ws) => {
      alive.add(ws);
      slotOf.set(ws, connections++ % HEARTBEAT_SLOTS);
      ws.on('pong', () => alive.add(ws));
    });
    this.#heartbeat = setInterval(() => {
      const slot = turn++ % HEARTBEAT_SLOTS;
      for (const ws of wss.clients) {
        if (slotOf.get(ws) !== slot) continue;
        if (!alive.has(ws)) {
          ws.terminate();
          continue;
        }
        alive.delete(ws);
        ws.ping();
      }
    }, (opts.heartbeatMs ?? 10_000) / HEARTBEAT_SLOTS);
    this.#heartbeat.unref();
  }

  static start(opts: PublisherOptions = {}): Promise<Publisher> {
    const common = { path: WIRE_PATH, maxPayload: WIRE_LIMITS.agentFrameBytes, perMessageDeflate: false };
    if (opts.server) return Promise.resolve(new Publisher(new WebSocketServer({ ...common, server: opts.server }), opts));
    return new Promise((resolve, reject) => {
      const wss = new WebSocketServer({ ...common, host: opts.host ?? '0.0.0.0', port: opts.port ?? PORTS.controller });
      wss.once('error', reject);
      wss.once('listening', () => {
        wss.off('error', reject);
        resolve(new Publisher(wss, opts));
      });
    });
  }

  get port(): number {
    const a = (this.#opts.server ?? this.#wss).address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  get table(): RoutingTable | null {
    return this.#table;
  }

  /**
   * Agents are still to acknowledge a table published in the last 10 s: a pause now (the idle
   * heap reclaim's collection) would hold their acks and the change's propagation. Bounded in
   * time, so that an agent that never acknowledges cannot hold the reclaim off for good.
   */
  get propagating(): boolean {
    return this.#latency.waiting && performance.now() - this.#lastPublished < PROPAGATING_MS;
  }

  /** Patch `changes` serialised so far: once per distinct set of changed entries per table, however many agents get them. */
  get patchChangesEncoded(): number {
    return this.#patchEncoder.encoded;
  }

  /**
   * Update and patch frames encoded so far: once per distinct frame (slice, or base and slice),
   * however many agents it is written to.
   */
  get framesEncoded(): number {
    return this.#framesEncoded;
  }

  /** Slices diffed against an agent's base so far: not those an endpoint change patched (endpoint-changes.ts). */
  get slicesDiffed(): number {
    return this.#diffed;
  }

  /** Number of the table in force: 1 for the first published, +1 for each different one. */
  get generation(): number {
    return this.#generations.generation;
  }

  /**
   * Publishes a table: every agent whose slice changed gets an update, the others nothing.
   * `startedAt` (performance.now()): when the translation that made it began, for the
   * propagation latency; default now.
   */
  setTable(table: RoutingTable, startedAt = performance.now()): void {
    const prev = this.#table;
    // Only endpoints changed: no route did, and only the agents holding a changed backend get work.
    const delta = prev ? endpointDelta(prev, table) : null;
    // Any other change: what it replaced, once for every session (its slice is derived from it).
    const changes = prev && !delta ? entryDelta(prev, table) : null;
    const samePolicies = prev && changes ? this.#samePolicies(prev, table) : true;
    // The same content in new objects is not a new table; compared entry by entry, as the
    // table's version is hashed from the whole table only when read (translate/table-version.ts).
    const sameContent = prev && changes ? samePolicies && prev.apiVersion === table.apiVersion && !changes.addedOrRemoved
      && changes.replaced.every(([a, b]) => this.#versioner.json(a) === this.#versioner.json(b)) : undefined;
    if (!this.#generations.update(table, delta !== null, sameContent)) {
      // The same content in new objects (a catch-up translation after a status pass): nothing to
      // send, but it is the table the next endpoint patch is made from, so it is the one in force
      // from now on; kept the old one, that patch would not be an endpoint delta of it and would
      // re-slice every agent holding the Service as a route change does. Slices, frames and the
      // entry index stay: they hold the same content, and they are matched by name.
      if (prev && sameContent && table !== prev) {
        derivedTable(table, prev, new Map());
        this.#table = table;
      }
      return;
    }
    this.#table = table;
    this.#lastPublished = performance.now();
    this.#metrics.tablesTotal++;
    this.#ackEpoch++;
    this.#fromBase = new WeakMap();
    this.#patchEncoder.clear();
    this.#endpointChanges = null;
    let touched: Iterable<AgentSession>;
    if (prev && delta) {
      this.#metrics.endpointTablesTotal++;
      touched = this.#patchEndpoints(prev, table, delta);
    } else {
      this.#fingerprinted = new WeakMap();
      this.#clearSlices();
      this.#policyPods = null;
      if (prev && changes) {
        this.#rebase = { changes, samePolicies };
        touched = samePolicies ? this.#affectedBy(changes) : this.#sessions;
      } else {
        touched = this.#sessions;
      }
    }
    const refreshed = [...touched];
    for (const s of refreshed) this.#stale.add(s);
    try {
      for (const s of refreshed) s.refresh(true);
    } finally {
      this.#rebase = null;
      // Cached slices no session asked for in this table (their agents left or resubscribed) are
      // dropped rather than patched: sliced again from the table if asked for later.
      if (this.#toPatch) for (const k of this.#toPatch.keys) this.#slices.delete(k);
      this.#toPatch = null;
    }
    this.#latency.published(startedAt, refreshed.filter((s) => s.hello && s.sent), this.#connected);
    this.#scheduleNotify();
  }

  /**
   * An endpoint patch of the table in force: the cached slices holding a changed backend are
   * patched as their sessions are refreshed (once for all the agents sharing one; those no
   * session asks for are dropped), inbound slices are dropped to be sliced again,
   * and the sessions to refresh are those whose slice holds a changed backend, plus the inbound
   * ones. Every other agent, slice and route is left alone.
   */
  #patchEndpoints(prev: RoutingTable, table: RoutingTable, delta: Map<string, BackendIR>): Set<AgentSession> {
    derivedTable(table, prev, delta);
    this.#endpointChanges = new EndpointChanges(delta, (v) => this.#versioner.json(v));
    // Patched when a session asks for them (#slice), in the refresh loop: the first agent's frame
    // is written after one slice patched, not after all of them (1 000 slice versions hashed
    // first held every frame ~10-20 ms at 1 000 agents, issue 14).
    const keys = new Set<string>();
    for (const name of delta.keys()) for (const k of this.#sliceKeysByBackend.get(name) ?? []) if (this.#slices.has(k)) keys.add(k);
    this.#toPatch = { delta, keys };
    for (const k of this.#inboundKeys) this.#slices.delete(k);
    this.#inboundKeys.clear();
    const sessions = new Set<AgentSession>(this.#inbound);
    for (const name of delta.keys()) for (const s of this.#holders.get(`backends/${name}`) ?? []) sessions.add(s);
    return sessions;
  }

  /**
   * The sessions a new table can change the slice of: those holding an entry that is new, gone
   * or replaced (translation hands back unchanged entries as the same objects), the inbound ones
   * when a backend changed, those with an unanswered destination when a frontend did, the
   * Gateway subscribers when a Gateway did (every one when the policies changed: the caller). The
   * others' slices are the same in the new table: they get no work.
   */
  #affectedBy(delta: EntryDelta): Iterable<AgentSession> {
    const out = new Set<AgentSession>();
    const changed = delta.keys;
    for (const key of changed) for (const s of this.#holders.get(key) ?? []) out.add(s);
    const any = (section: string): boolean => [...changed].some((k) => k.startsWith(`${section}/`));
    if (any('backends')) for (const s of this.#inbound) out.add(s);
    if (any('services')) for (const s of this.#unresolved) out.add(s);
    if (any('gateways') || any('secrets')) for (const s of this.#gatewayUsers) out.add(s);
    return out;
  }

  /** The policies of both tables are the same, by content (translation builds them afresh each time). */
  #samePolicies(prev: RoutingTable, table: RoutingTable): boolean {
    return prev.policies === table.policies || (prev.policies.length === table.policies.length
      && prev.policies.every((p, i) => this.#versioner.json(p) === this.#versioner.json(table.policies[i])));
  }

  /** Keeps the entry → sessions index (and the sets above) in step with the slice each session was last sent. */
  #track(session: AgentSession, before: RoutingTable | null, after: RoutingTable | null): void {
    if (after && this.#sessions.has(session)) this.#stale.add(session);
    // A new slice was computed for the session's current targets, and every session holding
    // that slice object has the same targets (the slice cache's key), so its flags are the
    // slice's; the same slice again means the subscriptions may have changed: computed afresh.
    let flags = after && before !== after ? sliceFlags.get(after) : undefined;
    if (after && !flags) {
      const targets = [...session.targets.values()];
      flags = {
        inbound: targets.some((t) => t.kind === 'inbound'),
        gateways: targets.some((t) => t.kind === 'gateway' || t.kind === 'gateways'),
        unresolved: targets.some((t) => t.kind === 'destination'
          && !after.services.some((f) => f.ports.some((p) => p.port === t.port) && f.clusterIPs.some((ip) => canonicalIp(ip) === canonicalIp(t.address)))),
      };
      if (before !== after) sliceFlags.set(after, flags);
    }
    const mark = (set: Set<AgentSession>, on: boolean): void => void (on ? set.add(session) : set.delete(session));
    mark(this.#inbound, !!flags?.inbound);
    mark(this.#gatewayUsers, !!flags?.gateways);
    mark(this.#unresolved, !!flags?.unresolved);
    if (before === after) return;
    // The same entries by name (a route change replaces objects, not names): the index holds.
    if (before && after && sameNames(before, after)) return;
    const afterKeys = after ? entryKeys(after) : [];
    const beforeKeys = before ? entryKeys(before) : [];
    const keep = new Set(afterKeys);
    for (const key of beforeKeys) {
      if (keep.has(key)) continue;
      const set = this.#holders.get(key);
      set?.delete(session);
      if (set?.size === 0) this.#holders.delete(key);
    }
    for (const key of keep) {
      let set = this.#holders.get(key);
      if (!set) this.#holders.set(key, (set = new Set()));
      set.add(session);
    }
  }

  #clearSlices(): void {
    this.#slices.clear();
    this.#sliceKeysByBackend.clear();
    this.#inboundKeys.clear();
    this.#updateFrames = new WeakMap();
  }

  /** A root rotation: every connected agent gets the trust bundle (and, with renew, re-issues its certificate). Returns how many were told. */
  pushTrustBundle(rootsPem: string[], renew: boolean): number {
    let told = 0;
    for (const s of this.#sessions) if (s.sendTrustBundle(rootsPem, renew)) told++;
    return told;
  }

  propagation(route: RouteRef): Propagation {
    // One key for both lookups: the status writer asks for every route on every pass.
    const key = routeKey(route);
    const c = this.#countAll().get(key);
    return { upToDate: c?.upToDate ?? 0, total: c?.total ?? 0, generation: this.#generations.of(key) ?? 0 };
  }

  #countAll(): Map<string, { upToDate: number; total: number }> {
    // The status writer asks for every route in a row: the sessions that changed since the last
    // answer are counted again first, once for all of those questions.
    for (const s of this.#stale) this.#recount(s);
    this.#stale.clear();
    return this.#counts;
  }

  /** Replaces a session's share of the counts with what it holds now (nothing once it left). */
  #recount(s: AgentSession): void {
    this.#recounted++;
    const before = this.#counted.get(s);
    const routes = this.#sessions.has(s) && s.hello && s.sent ? s.sent.routes : null;
    const ok = routes !== null && s.routesUpToDate;
    if (before && routes && before.ok === ok && sameSet(before.routes, routes)) {
      before.routes = routes;
      return;
    }
    if (before) {
      for (const r of before.routes) {
        this.#moved.add(r);
        const c = this.#counts.get(r)!;
        c.total--;
        if (before.ok) c.upToDate--;
        if (c.total === 0) this.#counts.delete(r);
      }
    }
    if (!routes) {
      this.#counted.delete(s);
      return;
    }
    for (const r of routes) {
      this.#moved.add(r);
      let c = this.#counts.get(r);
      if (!c) this.#counts.set(r, (c = { upToDate: 0, total: 0 }));
      c.total++;
      if (ok) c.upToDate++;
    }
    this.#counted.set(s, { routes, ok });
  }

  /**
   * The routes whose propagation() answer may differ from what it was at the last call (null: any
   * may; the first call): the status writer asks the counts of these alone (issue 14). One caller.
   */
  movedRoutes(): ReadonlySet<string> | null {
    this.#countAll(); // the sessions that changed, recounted now: what they moved is in this take
    return this.#moved.take();
  }

  /** Sessions whose share of the Propagated counts was worked out again so far: those that changed, not every agent. */
  get sessionsRecounted(): number {
    return this.#recounted;
  }

  /** Changes whenever propagation() or agentAcks() may answer differently (synchronously). */
  get ackEpoch(): number {
    return this.#ackEpoch;
  }

  /** The fingerprint of route `Kind/namespace/name` in the current table (equal on replicas that translated alike). */
  routeFingerprint(key: string): string | null {
    return this.#generations.fingerprintOf(key);
  }

  /**
   * Every agent that was sent a slice, newest connection first (an agent reconnecting to the
   * same replica may briefly have two): what other replicas' leader needs to count them.
   */
  agentAcks(): AgentAcks[] {
    const out: AgentAcks[] = [];
    for (const s of [...this.#sessions].reverse()) {
      if (!s.hello || !s.sent) continue;
      let routes = this.#fingerprinted.get(s.sent.routes);
      if (!routes) {
        routes = new Map([...s.sent.routes].map((k) => [k, this.#generations.fingerprintOf(k) ?? '']));
        this.#fingerprinted.set(s.sent.routes, routes);
      }
      out.push({ agent: `${s.hello.agent.namespace}/${s.hello.agent.pod}`, routes, upToDate: s.routesUpToDate });
    }
    return out;
  }

  /** Called (coalesced, asynchronously) whenever a propagation() answer may have changed. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  agents(): AgentStatus[] {
    return [...this.#sessions].flatMap((s) => s.status() ?? []);
  }

  metrics(): PublisherMetrics {
    return { ...this.#metrics };
  }

  /** Prometheus text exposition of metrics(). */
  renderMetrics(): string {
    return renderMetrics(this.#metrics) + this.#latency.render();
  }

  /** Disconnects every agent (they keep their last table and reconnect elsewhere). */
  close(): Promise<void> {
    clearInterval(this.#heartbeat);
    for (const ws of this.#wss.clients) ws.terminate();
    return new Promise((resolve) => this.#wss.close(() => resolve()));
  }

  #accept(ws: WebSocket, req: http.IncomingMessage): void {
    this.#metrics.connectionsTotal++;
    const session = new AgentSession(ws, req, this.#host);
    this.#sessions.add(session);
    const helloTimer = setTimeout(() => {
      if (session.hello) return;
      this.#metrics.helloRejectedTotal++;
      this.#host.log(`${session.label}: no hello within ${this.#opts.helloTimeoutMs ?? 5_000} ms`);
      ws.terminate();
    }, this.#opts.helloTimeoutMs ?? 5_000);
    helloTimer.unref();
    ws.on('error', (err) => this.#host.log(`${session.label}: ${err.message}`));
    ws.once('close', () => {
      clearTimeout(helloTimer);
      session.closed();
      this.#sessions.delete(session);
      this.#latency.changed(this.#connected, session);
      // At once: a session gone is not kept until the next propagation(), which may never come.
      this.#stale.delete(session);
      this.#recount(session);
      this.#ackEpoch++;
      if (session.hello) {
        this.#metrics.agents--;
        this.#scheduleNotify();
      }
    });
  }

  #slice(agent: { namespace: string; pod: string; entryRule?: boolean }, targets: SessionTargets, last?: RoutingTable): { slice: RoutingTable; routes: Set<string> } {
    // Inbound subscriptions select backends by pod name, and policies are chosen by pod name,
    // so those slices are the pod's own; the others are shared within the namespace.
    const pods = (this.#policyPods ??= policyPods(this.#table!));
    // Kept per subscriptions object until the policies' pods change: the same string each table.
    let keyed = this.#sliceKeys.get(targets);
    if (keyed?.pods !== pods) {
      const pod = targets.inbound || pods.has(`${agent.namespace}/${agent.pod}`) ? agent.pod : '';
      // The version rule is part of the key: agents of either age subscribing alike get slices of the same content, versioned by their own rule.
      this.#sliceKeys.set(targets, (keyed = { pods, key: `${agent.namespace}|${pod}|${agent.entryRule ? ENTRY_RULE : ''}|${targets.key}` }));
    }
    const key = keyed.key;
    let hit = this.#slices.get(key);
    if (hit && this.#toPatch?.keys.delete(key)) hit = this.#patched(key, hit, this.#toPatch.delta);
    if (!hit) {
      const r = this.#rebase;
      // The session's last slice, of the table before, with the replaced entries swapped in.
      let slice = r && last ? rebaseSlice(last, r.changes, targets.map.values(), agent.namespace, r.samePolicies, this.#versioner) : null;
      if (slice) {
        this.#metrics.slicesRebasedTotal++;
        noteRebased(slice, last!);
        // The same subscriptions picking the same frontends: what #track records of it holds.
        const flags = sliceFlags.get(last!);
        if (flags && slice !== last) sliceFlags.set(slice, flags);
      } else {
        slice = sliceTable(this.#table!, { agent, targets: targets.map.values() }, this.#versioner, agent.entryRule === true);
      }
      this.#metrics.slicesComputedTotal++;
      hit = { slice, routes: (last && rebasedRoutes(slice, last)) || routesIn(slice) };
      routesOf.set(slice, hit.routes);
      // Between two tables, subscriptions keep adding keys: stay within a few per agent.
      if (this.#slices.size > 2 * this.#sessions.size + 100) this.#clearSlices();
      this.#slices.set(key, hit);
      for (const b of slice.backends) {
        let set = this.#sliceKeysByBackend.get(b.name);
        if (!set) this.#sliceKeysByBackend.set(b.name, (set = new Set()));
        set.add(key);
      }
      if (targets.inbound) this.#inboundKeys.add(key);
    }
    return hit;
  }

  /**
   * A cached slice with an endpoint change's backends swapped in. The subscriptions and frontends
   * are the same, so what #track records of the slice carries over (not worked out per agent).
   */
  #patched(key: string, hit: { slice: RoutingTable; routes: Set<string> }, delta: Map<string, BackendIR>): { slice: RoutingTable; routes: Set<string> } {
    const slice = patchSlice(hit.slice, delta, this.#versioner);
    notePatched(slice, hit.slice);
    this.#metrics.slicesComputedTotal++;
    const flags = sliceFlags.get(hit.slice);
    if (flags && slice !== hit.slice) sliceFlags.set(slice, flags);
    const next = { slice, routes: hit.routes };
    routesOf.set(slice, hit.routes);
    this.#slices.set(key, next);
    return next;
  }

  #scheduleNotify(): void {
    if (this.#notifyScheduled || this.#listeners.size === 0) return;
    this.#notifyScheduled = true;
    setImmediate(() => {
      this.#notifyScheduled = false;
      for (const l of [...this.#listeners]) {
        try {
          l();
        } catch (err) {
          this.#host.log(`propagation listener failed: ${(err as Error).message}`);
        }
      }
    });
  }
}
