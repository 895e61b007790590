// The `.expect.yaml` format: what a conformance test asserts, transcribed by hand. Parsed
// strictly (unknown keys are errors) for the same reason inputs are: a typo in an
// expectation must not silently turn an assertion off.
//
//   conditions:  [{object: "Kind ns/name", parent?: "Kind ns/name", sectionName?, listener?,
//                  type, status?, reason?}]         status or reason omitted = any
//   listeners:   [{gateway: ns/name, listener, attachedRoutes?, supportedKinds?}]
//   noAcceptedParents: ["Kind ns/name"]            no parent entry of ours is Accepted
//   latestConditions:  ["Kind ns/name"]            every condition (the object's, and a route's
//                                                  under our parents) has observedGeneration =
//                                                  generation
//   gatewayAddresses:  [ns/name]                   status.addresses is not empty
//   defaults:    request fields shared by every request
//   requests:    [{name?, gateway?, port?, scheme?, sni?, mesh?: {clientNamespace}, host?,
//                  hostHeader?, method?, path?, headers?, expect: {...}}]
import { FixtureError } from '../../support/load-yaml.ts';

export interface ObjectKey { kind: string; namespace: string; name: string }

export interface ConditionExpectation {
  object: ObjectKey;
  parent: ObjectKey | null;
  sectionName: string | null;
  listener: string | null;
  type: string;
  /** null: any status. */
  status: 'True' | 'False' | 'Unknown' | null;
  reason: string | null;
}

export interface ListenerExpectation {
  gateway: string;
  listener: string;
  attachedRoutes: number | null;
  supportedKinds: string[] | null;
}

export interface Outcome {
  status: number | null;
  backend: string | null;
  /** ns/deployment whose pods (by name) are every endpoint of the chosen backends. */
  backendPods: string | null;
  split: Record<string, number> | null;
  /** ns/name of every mirror backend with its percent (RequestMirror filters, rule or backend). */
  mirrors: Record<string, number> | null;
  location: string | null;
  /** The suite's RedirectRequest: only the parts given are compared with the Location. */
  redirect: { scheme: string | null; host: string | null; port: string | null; path: string | null } | null;
  path: string | null;
  host: string | null;
  requestHeaders: Record<string, string>;
  absentRequestHeaders: string[];
  responseHeaders: Record<string, string>;
  absentResponseHeaders: string[];
  passthrough: boolean;
}

export interface RequestExpectation {
  name: string;
  gateway: string | null;
  port: number | null;
  scheme: 'http' | 'https';
  /** TLS server name, for HTTPS requests whose SNI differs from Host. */
  sni: string | null;
  mesh: { clientNamespace: string } | null;
  host: string | null;
  /** Host header to send when it differs from the host dialled (mesh: the Service called). */
  hostHeader: string | null;
  method: string;
  path: string;
  headers: Record<string, string>;
  expect: Outcome;
}

export interface CaseExpectation {
  test: string;
  source: string;
  conditions: ConditionExpectation[];
  listeners: ListenerExpectation[];
  noAcceptedParents: ObjectKey[];
  /** Objects every one of whose conditions must carry observedGeneration = generation. */
  latestConditions: ObjectKey[];
  gatewayAddresses: string[];
  requests: RequestExpectation[];
}

type Rec = Record<string, unknown>;

class Reader {
  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  fail(at: string, msg: string): never {
    throw new FixtureError(`${this.file}: ${at}: ${msg}`);
  }

  record(v: unknown, at: string, allowed: readonly string[]): Rec {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(at, 'expected a mapping');
    for (const k of Object.keys(v)) if (!allowed.includes(k)) this.fail(at, `unknown key '${k}' (allowed: ${allowed.join(', ')})`);
    return v as Rec;
  }

  list(v: unknown, at: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(at, 'expected a list');
    return v as unknown[];
  }

  str(v: unknown, at: string): string {
    if (typeof v !== 'string' || v === '') this.fail(at, 'expected a non-empty string');
    return v;
  }

  optStr(v: unknown, at: string): string | null {
    return v === undefined ? null : this.str(v, at);
  }

  optNum(v: unknown, at: string): number | null {
    if (v === undefined) return null;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(at, 'expected an integer');
    return v;
  }

  strMap(v: unknown, at: string): Record<string, string> {
    if (v === undefined) return {};
    const r = this.record(v, at, Object.keys(v as Rec));
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(r)) out[k] = typeof x === 'number' ? String(x) : this.str(x, `${at}.${k}`);
    return out;
  }

  strList(v: unknown, at: string): string[] {
    return this.list(v, at).map((x, i) => this.str(x, `${at}[${i}]`));
  }

  /** "Kind ns/name", or "Kind name" for cluster-scoped objects. */
  objectKey(v: unknown, at: string): ObjectKey {
    const m = /^(\w+) (?:([a-z0-9.-]+)\/)?([a-z0-9.-]+)$/.exec(this.str(v, at));
    if (!m) this.fail(at, `expected "Kind namespace/name", got '${String(v)}'`);
    return { kind: m[1]!, namespace: m[2] ?? '', name: m[3]! };
  }
}

function redirectParts(r: Reader, v: unknown, at: string): NonNullable<Outcome['redirect']> {
  const o = r.record(v, at, ['scheme', 'host', 'port', 'path']);
  return {
    scheme: r.optStr(o.scheme, `${at}.scheme`),
    host: r.optStr(o.host, `${at}.host`),
    port: o.port === undefined ? null : typeof o.port === 'number' ? String(o.port) : r.str(o.port, `${at}.port`),
    path: r.optStr(o.path, `${at}.path`),
  };
}

function outcome(r: Reader, v: unknown, at: string): Outcome {
  const o = r.record(v, at, ['status', 'backend', 'backendPods', 'split', 'mirrors', 'location', 'redirect', 'path', 'host', 'requestHeaders',
    'absentRequestHeaders', 'responseHeaders', 'absentResponseHeaders', 'passthrough']);
  const numbers = (key: 'split' | 'mirrors'): Record<string, number> | null => {
    if (o[key] === undefined) return null;
    const out: Record<string, number> = {};
    for (const [k, w] of Object.entries(r.record(o[key], `${at}.${key}`, Object.keys(o[key] as Rec)))) {
      out[k] = r.optNum(w, `${at}.${key}.${k}`) ?? r.fail(`${at}.${key}.${k}`, 'a number is required');
    }
    return out;
  };
  if (o.passthrough !== undefined && typeof o.passthrough !== 'boolean') r.fail(`${at}.passthrough`, 'expected a boolean');
  return {
    status: r.optNum(o.status, `${at}.status`),
    backend: r.optStr(o.backend, `${at}.backend`),
    backendPods: r.optStr(o.backendPods, `${at}.backendPods`),
    split: numbers('split'),
    mirrors: numbers('mirrors'),
    location: r.optStr(o.location, `${at}.location`),
    redirect: o.redirect === undefined ? null : redirectParts(r, o.redirect, `${at}.redirect`),
    path: r.optStr(o.path, `${at}.path`),
    host: r.optStr(o.host, `${at}.host`),
    requestHeaders: r.strMap(o.requestHeaders, `${at}.requestHeaders`),
    absentRequestHeaders: r.strList(o.absentRequestHeaders, `${at}.absentRequestHeaders`),
    responseHeaders: r.strMap(o.responseHeaders, `${at}.responseHeaders`),
    absentResponseHeaders: r.strList(o.absentResponseHeaders, `${at}.absentResponseHeaders`),
    passthrough: o.passthrough === true,
  };
}

const REQUEST_KEYS = ['name', 'gateway', 'port', 'scheme', 'sni', 'mesh', 'host', 'hostHeader', 'method', 'path', 'headers'] as const;

function request(r: Reader, v: unknown, defaults: Rec, i: number): RequestExpectation {
  const at = `requests[${i}]`;
  const own = r.record(v, at, [...REQUEST_KEYS, 'expect']);
  const q: Rec = { ...defaults, ...own };
  const mesh = q.mesh === undefined ? null : r.record(q.mesh, `${at}.mesh`, ['clientNamespace']);
  const gateway = r.optStr(q.gateway, `${at}.gateway`);
  if ((gateway === null) === (mesh === null)) r.fail(at, 'needs exactly one of gateway (with port) or mesh');
  const path = r.optStr(q.path, `${at}.path`) ?? '/';
  const method = r.optStr(q.method, `${at}.method`) ?? 'GET';
  const host = r.optStr(q.host, `${at}.host`);
  return {
    name: r.optStr(own.name, `${at}.name`) ?? `${i}: ${method} ${host ?? ''}${path}`,
    gateway,
    port: r.optNum(q.port, `${at}.port`),
    scheme: q.scheme === undefined || q.scheme === 'http' ? 'http' : q.scheme === 'https' ? 'https' : r.fail(`${at}.scheme`, 'expected http or https'),
    sni: r.optStr(q.sni, `${at}.sni`),
    mesh: mesh ? { clientNamespace: r.str(mesh.clientNamespace, `${at}.mesh.clientNamespace`) } : null,
    host,
    hostHeader: r.optStr(q.hostHeader, `${at}.hostHeader`),
    method,
    path,
    headers: r.strMap(q.headers, `${at}.headers`),
    expect: outcome(r, own.expect, `${at}.expect`),
  };
}

const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

export function parseExpectation(doc: unknown, file: string): CaseExpectation {
  const r = new Reader(file);
  const top = r.record(doc, 'top level', ['test', 'source', 'conditions', 'listeners', 'noAcceptedParents',
    'latestConditions', 'gatewayAddresses', 'defaults', 'requests']);
  const defaults = top.defaults === undefined ? {} : r.record(top.defaults, 'defaults', REQUEST_KEYS);
  return {
    test: r.str(top.test, 'test'),
    source: r.str(top.source, 'source'),
    conditions: r.list(top.conditions, 'conditions').map((c, i) => {
      const at = `conditions[${i}]`;
      const o = r.record(c, at, ['object', 'parent', 'sectionName', 'listener', 'type', 'status', 'reason']);
      // Omitted status means any status, as an empty Status in the suite's findConditionInList.
      const status = o.status === undefined ? null : r.str(o.status, `${at}.status`);
      const narrowed = status === null ? null : CONDITION_STATUSES.find((x) => x === status) ?? r.fail(`${at}.status`, 'expected "True", "False" or "Unknown"');
      const condition: ConditionExpectation = {
        object: r.objectKey(o.object, `${at}.object`),
        parent: o.parent === undefined ? null : r.objectKey(o.parent, `${at}.parent`),
        sectionName: r.optStr(o.sectionName, `${at}.sectionName`),
        listener: r.optStr(o.listener, `${at}.listener`),
        type: r.str(o.type, `${at}.type`),
        status: narrowed,
        reason: r.optStr(o.reason, `${at}.reason`),
      };
      return condition;
    }),
    listeners: r.list(top.listeners, 'listeners').map((l, i) => {
      const at = `listeners[${i}]`;
      const o = r.record(l, at, ['gateway', 'listener', 'attachedRoutes', 'supportedKinds']);
      return {
        gateway: r.str(o.gateway, `${at}.gateway`),
        listener: r.str(o.listener, `${at}.listener`),
        attachedRoutes: r.optNum(o.attachedRoutes, `${at}.attachedRoutes`),
        supportedKinds: o.supportedKinds === undefined ? null : r.strList(o.supportedKinds, `${at}.supportedKinds`),
      };
    }),
    noAcceptedParents: r.list(top.noAcceptedParents, 'noAcceptedParents').map((x, i) => r.objectKey(x, `noAcceptedParents[${i}]`)),
    latestConditions: r.list(top.latestConditions, 'latestConditions').map((x, i) => r.objectKey(x, `latestConditions[${i}]`)),
    gatewayAddresses: r.strList(top.gatewayAddresses, 'gatewayAddresses'),
    requests: r.list(top.requests, 'requests').map((q, i) => request(r, q, defaults, i)),
  };
}
