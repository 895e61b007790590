// validate(): the agent's edge check on a routing table before it swaps it in. A table that
// fails is refused whole (the agent keeps its last good one and reports why), so this checks
// everything the data plane would otherwise trip over at request time: dangling references,
// out-of-range numbers, regexes our engine cannot compile, unsorted lists the matcher relies on.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Re2js from 're2js';
import type { RE2JS } from 're2js';
import { RoutingTableInvalidError, type ValidationIssue } from './errors.ts';
import {
  ROUTING_TABLE_API_VERSION,
  type FilterIR, type MatchIR, type RouteRuleIR, type RoutingTable, type VirtualHostIR,
} from './routing-table.ts';
import { checkedVersion } from './version.ts';

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);
const FILTER_TYPES = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'URLRewrite', 'RequestMirror']);
/** Headers a filter must never touch: they frame the message or manage the connection. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);

let re2js: typeof Re2js | null = null;

/**
 * The regex engine, loaded with the first regular expression (issue 16, ADR 0012: ~2 MB of an
 * idle agent's RSS, and most tables have none). Synchronously, as compileRegex is: the package's
 * ES module (the one `import` gives the controller's translator) through require(esm), so a
 * process that has both keeps one copy.
 */
export function loadRegexEngine(): typeof Re2js {
  re2js ??= createRequire(import.meta.url)(fileURLToPath(import.meta.resolve('re2js'))) as typeof Re2js;
  return re2js;
}

/** Compiles a RegularExpression match value the way the matcher will (RE2 syntax, linear time). */
export function compileRegex(pattern: string): RE2JS {
  return loadRegexEngine().RE2JS.compile(pattern);
}

class Checker {
  readonly issues: ValidationIssue[] = [];
  readonly backends = new Set<string>();
  readonly secrets = new Set<string>();
  /** See CheckOptions.passedRules. */
  readonly passed: WeakMap<RouteRuleIR, string[]> | undefined;
  /** The backends the rule being checked names, while a rule is checked with `passed`. */
  #refs: string[] | null = null;

  constructor(passed?: WeakMap<RouteRuleIR, string[]>) {
    this.passed = passed;
  }

  fail(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  port(path: string, port: unknown): void {
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) this.fail(path, `port ${String(port)} is not in 1..65535`);
  }

  sortedUnique(path: string, keys: string[]): void {
    for (let i = 1; i < keys.length; i++) {
      if (keys[i - 1]! >= keys[i]!) this.fail(`${path}[${i}]`, `'${keys[i]}' is duplicated or out of order`);
    }
  }

  backendRef(path: string, name: string): void {
    this.#refs?.push(name);
    if (!this.backends.has(name)) this.fail(path, `unknown backend '${name}'`);
  }

  regex(path: string, pattern: string): void {
    try {
      compileRegex(pattern);
    } catch (err) {
      this.fail(path, `regular expression does not compile: ${(err as Error).message}`);
    }
  }

  match(path: string, m: MatchIR): void {
    if (m.path.type === 'RegularExpression') this.regex(`${path}.path.value`, m.path.value);
    else if (!m.path.value.startsWith('/')) this.fail(`${path}.path.value`, 'path must start with /');
    m.headers.forEach((h, i) => {
      if (!HEADER_NAME.test(h.name)) this.fail(`${path}.headers[${i}].name`, `invalid header name '${h.name}'`);
      if (h.type === 'RegularExpression') this.regex(`${path}.headers[${i}].value`, h.value);
    });
    m.queryParams.forEach((q, i) => {
      if (q.type === 'RegularExpression') this.regex(`${path}.queryParams[${i}].value`, q.value);
    });
  }

  filters(path: string, filters: FilterIR[]): void {
    filters.forEach((f, i) => {
      const at = `${path}[${i}]`;
      // An agent older than its controller must refuse a filter it does not know rather than
      // silently skip it (fail closed).
      if (!FILTER_TYPES.has((f as { type: string }).type)) this.fail(`${at}.type`, `unknown filter type '${String((f as { type: unknown }).type)}'`);
      if (f.type === 'RequestHeaderModifier' || f.type === 'ResponseHeaderModifier') {
        for (const h of [...f.modifier.set, ...f.modifier.add]) {
          if (!HEADER_NAME.test(h.name)) this.fail(at, `invalid header name '${h.name}'`);
          if (/[\r\n\0]/.test(h.value)) this.fail(at, `header '${h.name}' value contains CR, LF or NUL`);
        }
        for (const name of [...f.modifier.set.map((h) => h.name), ...f.modifier.add.map((h) => h.name), ...f.modifier.remove]) {
          if (FRAMING_HEADERS.has(name.toLowerCase())) this.fail(at, `header '${name}' frames the message and cannot be modified`);
        }
      } else if (f.type === 'RequestMirror') {
        this.backendRef(`${at}.backend`, f.backend);
        if (!(f.percent >= 0 && f.percent <= 100)) this.fail(`${at}.percent`, 'percent must be within 0..100');
      } else if (f.type === 'URLRewrite') {
        if (f.path && !f.path.value.startsWith('/') && !(f.path.type === 'ReplacePrefixMatch' && f.path.value === '')) this.fail(`${at}.path.value`, 'path must start with /');
      }
    });
  }

  rule(path: string, r: RouteRuleIR): void {
    const passed = this.passed;
    if (passed) {
      // Checked before and found sound: only its backend names can fail now (a table is never
      // changed after it is built, so the rest of what this checks is as it was).
      const names = passed.get(r);
      if (names && names.every((n) => this.backends.has(n))) return;
      const before = this.issues.length;
      this.#refs = [];
      this.#checkRule(path, r);
      if (this.issues.length === before) passed.set(r, this.#refs);
      this.#refs = null;
      return;
    }
    this.#checkRule(path, r);
  }

  #checkRule(path: string, r: RouteRuleIR): void {
    this.match(`${path}.match`, r.match);
    this.filters(`${path}.filters`, r.filters);
    const a = r.action;
    if (a.type === 'Forward') {
      a.backends.forEach((b, i) => {
        const at = `${path}.action.backends[${i}]`;
        if (!Number.isInteger(b.weight) || b.weight < 0) this.fail(`${at}.weight`, 'weight must be a non-negative integer');
        if (b.backend !== null) this.backendRef(`${at}.backend`, b.backend);
        this.filters(`${at}.filters`, b.filters);
      });
    } else if (a.type === 'Redirect') {
      if (!REDIRECT_CODES.has(a.redirect.statusCode)) this.fail(`${path}.action.redirect.statusCode`, `unsupported redirect status ${a.redirect.statusCode}`);
      if (a.redirect.port !== null) this.port(`${path}.action.redirect.port`, a.redirect.port);
    } else if (!(a.status >= 100 && a.status <= 599)) {
      this.fail(`${path}.action.status`, `invalid status ${a.status}`);
    }
    if (r.retry && (!Number.isInteger(r.retry.attempts) || r.retry.attempts < 0)) this.fail(`${path}.retry.attempts`, 'attempts must be a non-negative integer');
    for (const k of ['requestMs', 'backendRequestMs'] as const) {
      const v = r.timeouts?.[k];
      if (v !== null && v !== undefined && !(Number.isFinite(v) && v >= 0)) this.fail(`${path}.timeouts.${k}`, 'timeout must be a non-negative number of milliseconds');
    }
  }

  virtualHosts(path: string, vhosts: VirtualHostIR[]): void {
    const seen = new Set<string>();
    vhosts.forEach((vh, i) => {
      if (seen.has(vh.hostname)) this.fail(`${path}[${i}].hostname`, `duplicate virtual host '${vh.hostname}'`);
      seen.add(vh.hostname);
      vh.rules.forEach((r, j) => this.rule(`${path}[${i}].rules[${j}]`, r));
    });
  }
}

/** What to check; by default everything. */
export interface CheckOptions {
  /**
   * Recompute the content hash and compare it with `version` (default true). Only a caller that
   * set `version` from this very object a moment ago may skip it (file mode's translation
   * worker): hashing a 1 000-route table costs it more than every other check together.
   */
  version?: boolean;
  /**
   * Rules this caller's earlier checks found sound, kept by object with the backends they name
   * (filled in here): such a rule is not checked again while those backends exist. For a caller
   * that checks table after table whose unchanged rules are the same objects (file mode's
   * translation worker): an edit of one route of 1 000 in one frontend checks one rule (issue 16).
   * The issues reported are the same with or without it.
   */
  passedRules?: WeakMap<RouteRuleIR, string[]>;
}

/** Returns the issues found; an empty list means the table is safe to execute. */
export function checkRoutingTable(table: RoutingTable, opts: CheckOptions = {}): ValidationIssue[] {
  const c = new Checker(opts.passedRules);
  if (!table || typeof table !== 'object') return [{ path: '', message: 'not an object' }];
  const apiVersion: unknown = table.apiVersion;
  if (apiVersion !== ROUTING_TABLE_API_VERSION) c.fail('apiVersion', `expected ${ROUTING_TABLE_API_VERSION}, got ${String(apiVersion)}`);
  for (const key of ['gateways', 'services', 'backends', 'secrets', 'policies'] as const) {
    if (!Array.isArray(table[key])) return [...c.issues, { path: key, message: 'must be an array' }];
  }
  for (const b of table.backends) c.backends.add(b.name);
  for (const s of table.secrets) c.secrets.add(s.name);
  c.sortedUnique('backends', table.backends.map((b) => b.name));
  c.sortedUnique('secrets', table.secrets.map((s) => s.name));
  c.sortedUnique('gateways', table.gateways.map((g) => g.name));
  c.sortedUnique('services', table.services.map((s) => s.name));
  c.sortedUnique('policies', table.policies.map((p) => p.name));
  table.policies.forEach((p, i) => {
    p.endpoints.forEach((e, j) => {
      if (e.port !== 0) c.port(`policies[${i}].endpoints[${j}].port`, e.port);
    });
    p.rules.forEach((r, j) => {
      for (const principal of r.principals) if (!principal.startsWith('spiffe://')) c.fail(`policies[${i}].rules[${j}].principals`, `'${principal}' is not a SPIFFE ID`);
      r.ports.forEach((port, k) => c.port(`policies[${i}].rules[${j}].ports[${k}]`, port));
    });
  });
  table.backends.forEach((b, i) => {
    c.port(`backends[${i}].port`, b.port);
    b.endpoints.forEach((e, j) => c.port(`backends[${i}].endpoints[${j}].port`, e.port));
  });
  table.gateways.forEach((g, i) => {
    g.ports.forEach((p, j) => {
      const at = `gateways[${i}].ports[${j}]`;
      c.port(`${at}.port`, p.port);
      p.listeners.forEach((l, k) => {
        for (const s of l.certificates) if (!c.secrets.has(s)) c.fail(`${at}.listeners[${k}].certificates`, `unknown secret '${s}'`);
        if (p.protocol === 'HTTPS' && l.certificates.length === 0) c.fail(`${at}.listeners[${k}].certificates`, 'an HTTPS listener needs a certificate');
        c.virtualHosts(`${at}.listeners[${k}].virtualHosts`, l.virtualHosts);
      });
    });
  });
  table.services.forEach((s, i) => {
    s.ports.forEach((p, j) => {
      const at = `services[${i}].ports[${j}]`;
      c.port(`${at}.port`, p.port);
      c.backendRef(`${at}.defaultBackend`, p.defaultBackend);
      if (p.producer) c.virtualHosts(`${at}.producer.virtualHosts`, p.producer.virtualHosts);
      c.sortedUnique(`${at}.consumers`, p.consumers.map((x) => x.namespace));
      p.consumers.forEach((x, k) => c.virtualHosts(`${at}.consumers[${k}].routes.virtualHosts`, x.routes.virtualHosts));
    });
  });
  if (opts.version !== false && c.issues.length === 0) {
    const v = checkedVersion(table);
    if ('error' in v) c.fail('versionRule', v.error); // not 'version': a resend would be refused alike
    else if (table.version !== v.expected) c.fail('version', 'does not match the content hash');
  }
  return c.issues;
}

/** Throws RoutingTableInvalidError listing every issue; returns the table when it is valid. */
export function validate(table: RoutingTable, opts: CheckOptions = {}): RoutingTable {
  const issues = checkRoutingTable(table, opts);
  if (issues.length > 0) throw new RoutingTableInvalidError(issues);
  return table;
}
