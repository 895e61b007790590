// The wire protocol between agents (sidecar or ingress) and the controller's publisher: JSON
// text frames over one WebSocket per agent. The agent says who it is (hello), subscribes on
// demand to what it needs (a destination ClusterIP:port, its own inbound ports, Gateways), and
// receives its slice of the routing table as `update`s, each acknowledged (ack) or refused with
// a reason (nack) by version. Both ends parse every frame with parseMessage(), which checks the
// shape and the direction and throws a typed error; the table inside an update is checked by
// the agent with validate() so that a bad table becomes a nack, not a dropped connection.
import { MeshletError, type ValidationIssue } from './errors.ts';
import type { BackendIR, GatewayIR, PolicyIR, RoutingTable, SecretIR, ServiceFrontendIR } from './routing-table.ts';
import { IDENTITY_AGENT_TYPES, IDENTITY_CONTROLLER_TYPES, validateIdentityMessage, type IdentityAgentMessage, type IdentityControllerMessage } from './identity.ts';

/** Sent in hello and welcome; a peer speaking another protocol is refused with an error frame. */
export const WIRE_PROTOCOL = 'meshlet.dev/wire/v1alpha1';
/** Request path of the publisher's WebSocket endpoint. */
export const WIRE_PATH = '/meshlet/v1alpha1/stream';
/** Bounds that both ends enforce, so a confused peer cannot make the other allocate without limit. */
export const WIRE_LIMITS = {
  targetsPerMessage: 1_000,
  subscriptionsPerAgent: 10_000,
  reasonLength: 4_096,
  /** Largest frame an agent sends (hello with a token, a batch of subscriptions). */
  agentFrameBytes: 1024 * 1024,
} as const;

export type AgentMode = 'sidecar' | 'ingress';

export interface AgentIdentity {
  pod: string;
  namespace: string;
  serviceAccount: string;
  mode: AgentMode;
}

/**
 * How the agent proves the identity it claims. `none` until the identity capability lands;
 * `token` carries the pod's projected ServiceAccount token (checked with a TokenReview);
 * `client-certificate` means "take my identity from the mTLS session", so nothing secret ever
 * travels inside the message itself.
 */
export type AgentAuth =
  | { type: 'none' }
  | { type: 'token'; token: string }
  | { type: 'client-certificate' };

export type SubscriptionTarget =
  /** A destination the app dialled: the Service frontend with that ClusterIP and port. */
  | { kind: 'destination'; address: string; port: number }
  /** One of the pod's own ports: the backends whose endpoints are this pod on that port. */
  | { kind: 'inbound'; port: number }
  /** One Gateway, with its certificates and backends. */
  | { kind: 'gateway'; namespace: string; name: string }
  /** Every Gateway of meshlet's class: what the shared ingress serves. */
  | { kind: 'gateways' };

/**
 * Opens the conversation. `targets` are the subscriptions to start with (a reconnecting agent
 * resends all of its own), so the first update already holds them and an agent never swaps in
 * an empty slice between a reconnect and its resubscription.
 */
export interface HelloMessage {
  type: 'hello'; protocol: string; agent: AgentIdentity; auth: AgentAuth; targets: SubscriptionTarget[];
  /**
   * The version of the table the agent runs (a reconnect, to the same or another replica): a
   * controller whose slice for these targets has that version sends nothing and says so in the
   * welcome. Optional, so that agents and controllers of either age still talk: one that does not
   * know the field ignores it and the slice is sent whole, as before.
   */
  version?: string;
  /**
   * The version rules (api/version.ts) whose tables the agent can check besides plain content
   * hashes, e.g. ['e1']: a controller versions this agent's slices by one of them, or by the
   * plain rule when the field is absent (an agent that predates it). A controller that does not
   * know the field ignores it and sends plain versions, which every agent checks (ADR 0025).
   */
  versionRules?: string[];
}
export interface SubscribeMessage { type: 'subscribe'; id: number; targets: SubscriptionTarget[] }
export interface UnsubscribeMessage { type: 'unsubscribe'; id: number; targets: SubscriptionTarget[] }
export interface AckMessage { type: 'ack'; version: string }
/**
 * `resend`: the refusal may be the patch's fault (the agent's table is not its base, or the
 * result's hash differs), so the controller should send the same version whole.
 */
export interface NackMessage { type: 'nack'; version: string; reason: string; resend: boolean }
export interface PingMessage { type: 'ping'; nonce: number }
export interface PongMessage { type: 'pong'; nonce: number }

/**
 * `current`: the hello's `version`, echoed when the agent's slice is that version. No update
 * follows; the agent's table already reflects every target the hello carried (it answers them
 * as it would on the connection's first update), and the controller counts it as acknowledged.
 */
export interface WelcomeMessage { type: 'welcome'; protocol: string; controller: string; current?: string }
/** The agent's whole slice; sent only when it differs from the last one sent on this connection. */
export interface UpdateMessage { type: 'update'; version: string; table: RoutingTable }
/** Named entries of one list of the table that were added or changed, and names removed. */
export interface SectionChanges<T extends { name: string }> { upsert: T[]; remove: string[] }

export interface TableChanges {
  gateways: SectionChanges<GatewayIR>;
  services: SectionChanges<ServiceFrontendIR>;
  backends: SectionChanges<BackendIR>;
  secrets: SectionChanges<SecretIR>;
  policies: SectionChanges<PolicyIR>;
}

/**
 * The slice as changes to the version the agent acknowledged (`base`): an endpoint moving sends
 * one backend, not the whole slice. The agent applies it with applyPatch() and validates the
 * result, whose content hash must equal `version`; if its table is not `base` or the hash
 * differs it nacks, and the controller answers with the whole slice in an update.
 */
export interface PatchMessage { type: 'patch'; version: string; base: string; changes: TableChanges }
/** Answers (un)subscribe `id` once any update it caused has been sent: the agent may proceed. */
export interface SubscribedMessage { type: 'subscribed'; id: number; version: string }
/** The controller refuses something (bad hello, limits); it closes the connection afterwards. */
export interface ErrorMessage { type: 'error'; code: string; message: string }

/** csr / certificate / certificate-error (api/identity.ts): the workload certificate, over the same channel. */
export type AgentMessage = HelloMessage | SubscribeMessage | UnsubscribeMessage | AckMessage | NackMessage | PingMessage | PongMessage | IdentityAgentMessage;
export type ControllerMessage = WelcomeMessage | UpdateMessage | PatchMessage | SubscribedMessage | ErrorMessage | PingMessage | PongMessage | IdentityControllerMessage;
export type WireMessage = AgentMessage | ControllerMessage;
export type WireSender = 'agent' | 'controller';

/** A frame that is not a well-formed message of the sender's side of the protocol. */
export class WireMessageInvalidError extends MeshletError {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[]) {
    super('E_WIRE_MESSAGE_INVALID', `invalid wire message: ${issues.slice(0, 5).map((i) => `${i.path || '(message)'}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/** A hello in a protocol version this end does not speak. */
export class WireProtocolUnsupportedError extends MeshletError {
  readonly protocol: string;
  constructor(protocol: string) {
    super('E_WIRE_PROTOCOL_UNSUPPORTED', `wire protocol '${protocol}' is not supported (this end speaks ${WIRE_PROTOCOL})`);
    this.protocol = protocol;
  }
}

export function encodeMessage(msg: WireMessage): string {
  return JSON.stringify(msg);
}

/** A stable key for a target: subscriptions are sets of these. */
export function targetKey(t: SubscriptionTarget): string {
  switch (t.kind) {
    case 'destination': return `destination|${t.address}|${t.port}`;
    case 'inbound': return `inbound|${t.port}`;
    case 'gateway': return `gateway|${t.namespace}|${t.name}`;
    case 'gateways': return 'gateways';
  }
}

type Obj = Record<string, unknown>;

class Shape {
  readonly issues: ValidationIssue[] = [];
  fail(path: string, message: string): void {
    this.issues.push({ path, message });
  }
  str(o: Obj, key: string, path: string, max = 253, allowEmpty = false): void {
    const v = o[key];
    if (typeof v !== 'string') this.fail(`${path}${key}`, 'must be a string');
    else if (!allowEmpty && v.length === 0) this.fail(`${path}${key}`, 'must not be empty');
    else if (v.length > max) this.fail(`${path}${key}`, `longer than ${max} characters`);
  }
  int(o: Obj, key: string, path: string, min: number, max: number): void {
    const v = o[key];
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) this.fail(`${path}${key}`, `must be an integer in ${min}..${max}`);
  }
  obj(v: unknown, path: string): v is Obj {
    if (v && typeof v === 'object' && !Array.isArray(v)) return true;
    this.fail(path, 'must be an object');
    return false;
  }
  target(t: unknown, path: string): void {
    if (!this.obj(t, path)) return;
    const at = `${path}.`;
    if (t.kind === 'destination') {
      this.str(t, 'address', at, 64);
      this.int(t, 'port', at, 1, 65535);
    } else if (t.kind === 'inbound') {
      this.int(t, 'port', at, 1, 65535);
    } else if (t.kind === 'gateway') {
      this.str(t, 'namespace', at);
      this.str(t, 'name', at);
    } else if (t.kind !== 'gateways') {
      this.fail(`${at}kind`, `unknown subscription kind '${String(t.kind)}'`);
    }
  }
  targets(o: Obj, max: number = WIRE_LIMITS.targetsPerMessage): void {
    const ts = o.targets;
    if (!Array.isArray(ts)) return this.fail('targets', 'must be an array');
    if (ts.length > max) return this.fail('targets', `more than ${max} targets`);
    ts.forEach((t, i) => this.target(t, `targets[${i}]`));
  }
  section(v: unknown, path: string): void {
    if (!this.obj(v, path)) return;
    if (!Array.isArray(v.upsert) || !v.upsert.every((x) => x && typeof x === 'object' && typeof (x as Obj).name === 'string')) this.fail(`${path}.upsert`, 'must be an array of named objects');
    if (!Array.isArray(v.remove) || !v.remove.every((x) => typeof x === 'string')) this.fail(`${path}.remove`, 'must be an array of names');
  }
  hello(o: Obj): void {
    this.str(o, 'protocol', '', 100);
    if (this.obj(o.agent, 'agent')) {
      for (const k of ['pod', 'namespace', 'serviceAccount']) this.str(o.agent, k, 'agent.');
      if (o.agent.mode !== 'sidecar' && o.agent.mode !== 'ingress') this.fail('agent.mode', "must be 'sidecar' or 'ingress'");
    }
    if (this.obj(o.auth, 'auth')) {
      if (o.auth.type === 'token') this.str(o.auth, 'token', 'auth.', 64 * 1024);
      else if (o.auth.type !== 'none' && o.auth.type !== 'client-certificate') this.fail('auth.type', `unknown auth type '${String(o.auth.type)}'`);
    }
    this.targets(o, WIRE_LIMITS.subscriptionsPerAgent);
    if (o.version !== undefined) this.str(o, 'version', '', 128);
    if (o.versionRules !== undefined && (!Array.isArray(o.versionRules) || o.versionRules.length > 8
      || !o.versionRules.every((r) => typeof r === 'string' && r.length > 0 && r.length <= 16))) this.fail('versionRules', 'must be at most 8 names of 1-16 characters');
  }
}

const AGENT_TYPES = new Set(['hello', 'subscribe', 'unsubscribe', 'ack', 'nack', 'ping', 'pong', ...IDENTITY_AGENT_TYPES]);
const CONTROLLER_TYPES = new Set(['welcome', 'update', 'patch', 'subscribed', 'error', 'ping', 'pong', ...IDENTITY_CONTROLLER_TYPES]);
const SECTIONS = ['gateways', 'services', 'backends', 'secrets', 'policies'] as const;

function check(s: Shape, o: Obj): void {
  switch (o.type) {
    case 'hello': return s.hello(o);
    case 'subscribe':
    case 'unsubscribe': s.int(o, 'id', '', 0, Number.MAX_SAFE_INTEGER); return s.targets(o);
    case 'ack': return s.str(o, 'version', '', 128);
    case 'nack':
      s.str(o, 'version', '', 128);
      if (typeof o.resend !== 'boolean') s.fail('resend', 'must be a boolean');
      return s.str(o, 'reason', '', WIRE_LIMITS.reasonLength, true);
    case 'ping':
    case 'pong': return s.int(o, 'nonce', '', 0, Number.MAX_SAFE_INTEGER);
    case 'welcome':
      s.str(o, 'protocol', '', 100);
      if (o.current !== undefined) s.str(o, 'current', '', 128);
      return s.str(o, 'controller', '');
    case 'update':
      s.str(o, 'version', '', 128);
      if (s.obj(o.table, 'table') && o.table.version !== o.version) s.fail('table.version', 'differs from the update version');
      return;
    case 'patch':
      s.str(o, 'version', '', 128);
      s.str(o, 'base', '', 128);
      if (!s.obj(o.changes, 'changes')) return;
      for (const k of SECTIONS) s.section(o.changes[k], `changes.${k}`);
      return;
    case 'subscribed': s.int(o, 'id', '', 0, Number.MAX_SAFE_INTEGER); return s.str(o, 'version', '', 128, true);
    case 'error': s.str(o, 'code', '', 100); return s.str(o, 'message', '', WIRE_LIMITS.reasonLength, true);
    case 'csr':
    case 'certificate':
    case 'certificate-error':
      for (const issue of validateIdentityMessage(o)) s.fail(issue.path, issue.message);
      return;
  }
}

/**
 * Parses one frame sent by `from`. Throws WireMessageInvalidError (not JSON, wrong shape, a type
 * the sender may not send) or WireProtocolUnsupportedError (hello/welcome in another protocol).
 * The table inside an update is only checked for its version: the agent validates it.
 */
export function parseMessage(data: string | Buffer, from: WireSender): WireMessage {
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (err) {
    throw new WireMessageInvalidError([{ path: '', message: `not JSON: ${(err as Error).message}` }]);
  }
  const s = new Shape();
  if (!s.obj(value, '')) throw new WireMessageInvalidError(s.issues);
  const allowed = from === 'agent' ? AGENT_TYPES : CONTROLLER_TYPES;
  if (typeof value.type !== 'string' || !allowed.has(value.type)) {
    throw new WireMessageInvalidError([{ path: 'type', message: `'${String(value.type)}' is not a message the ${from} sends` }]);
  }
  check(s, value);
  if (s.issues.length > 0) throw new WireMessageInvalidError(s.issues);
  if ((value.type === 'hello' || value.type === 'welcome') && value.protocol !== WIRE_PROTOCOL) {
    throw new WireProtocolUnsupportedError(value.protocol as string);
  }
  return value as unknown as WireMessage;
}

function patchSection<T extends { name: string }>(base: T[], changes: SectionChanges<T>): T[] {
  const byName = new Map(base.map((x) => [x.name, x]));
  for (const name of changes.remove) byName.delete(name);
  for (const x of changes.upsert) byName.set(x.name, x);
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The table a patch describes, built on `base`; the caller validates it (hash included). */
export function applyPatch(base: RoutingTable, patch: PatchMessage): RoutingTable {
  return {
    apiVersion: base.apiVersion,
    version: patch.version,
    gateways: patchSection(base.gateways, patch.changes.gateways),
    services: patchSection(base.services, patch.changes.services),
    backends: patchSection(base.backends, patch.changes.backends),
    policies: patchSection(base.policies, patch.changes.policies),
    secrets: patchSection(base.secrets, patch.changes.secrets),
  };
}
