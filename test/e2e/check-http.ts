// Compares real HTTP responses (from fixtures/http-batch.ts, through real agents) with what a
// conformance test asserts (test/golden/*.expect.yaml). The echo backend's JSON tells which pod
// answered and what request reached it, the way the Gateway API suite's roundtripper reads it.
import type { Outcome, RequestExpectation } from '../golden/conformance/expectations.ts';
import { canonicalHeaderKey } from '../support/echo-server.ts';

export type HttpResult = { status: number; headers: Record<string, string[] | undefined>; body: string } | { error: string };

export interface CheckOptions {
  /**
   * The expectation's request headers stand for the suite's BackendSetResponseHeaders (the
   * golden ResponseHeaderModifier cases say "the echo backend reflects the request headers into
   * its response"): they were sent as X-Echo-Set-Header and are not expected upstream.
   */
  backendSetsResponseHeaders?: boolean;
}

/** The request headers to send for an expectation (see CheckOptions). */
export function headersToSend(q: RequestExpectation, opts: CheckOptions): Record<string, string> {
  if (!opts.backendSetsResponseHeaders) return { ...q.headers };
  const set = Object.entries(q.headers).map(([k, v]) => `${k}:${v}`).join(',');
  return set ? { 'X-Echo-Set-Header': set } : {};
}

interface Echo {
  path: string;
  host: string;
  headers: Record<string, string[]>;
  namespace: string;
  pod: string;
}

const flat = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(',') : v);

function echoOf(r: HttpResult): Echo | null {
  if ('error' in r) return null;
  try {
    const e = JSON.parse(r.body) as Partial<Echo>;
    return typeof e.pod === 'string' ? (e as Echo) : null;
  } catch {
    return null;
  }
}

/** The expected backend ("ns/svc") among the Services the answering pod serves, if any. */
function backendOf(e: Echo, podServices: Map<string, Set<string>>, candidates: string[]): string {
  const services = podServices.get(e.pod) ?? new Set<string>();
  return candidates.find((c) => services.has(c)) ?? `pod ${e.namespace}/${e.pod} (${[...services].join(', ') || 'no Service'})`;
}

function checkResponseHeaders(failures: string[], r: HttpResult, e: Outcome): void {
  if ('error' in r) return;
  for (const [k, v] of Object.entries(e.responseHeaders)) {
    const got = flat(r.headers[k.toLowerCase()]);
    if (got !== v) failures.push(`response header ${k}: got '${String(got)}', expected '${v}'`);
  }
  for (const k of e.absentResponseHeaders) {
    if (r.headers[k.toLowerCase()] !== undefined) failures.push(`response header ${k} should be absent, got '${String(flat(r.headers[k.toLowerCase()]))}'`);
  }
}

function checkEcho(failures: string[], q: RequestExpectation, authority: string, echo: Echo, podServices: Map<string, Set<string>>, opts: CheckOptions): void {
  const e = q.expect;
  if (e.backend !== null) {
    const got = backendOf(echo, podServices, [e.backend]);
    if (got !== e.backend) failures.push(`backend: answered by ${got}, expected ${e.backend}`);
  }
  if (e.backendPods !== null) {
    const [ns, deployment] = e.backendPods.split('/');
    if (echo.namespace !== ns || !echo.pod.startsWith(`${deployment}-`)) failures.push(`backend pod ${echo.namespace}/${echo.pod} is not a ${e.backendPods} pod`);
  }
  const wantPath = e.path ?? q.path;
  if (echo.path !== wantPath) failures.push(`upstream path: got '${echo.path}', expected '${wantPath}'`);
  const wantHost = e.host ?? (q.host !== null ? authority : null);
  if (wantHost !== null && echo.host !== wantHost) failures.push(`upstream host: got '${echo.host}', expected '${wantHost}'`);
  // Like the suite: without header expectations the backend must see the headers as sent.
  const implicit = Object.keys(e.requestHeaders).length === 0 && e.absentRequestHeaders.length === 0 && !opts.backendSetsResponseHeaders ? q.headers : {};
  for (const [k, v] of Object.entries({ ...implicit, ...e.requestHeaders })) {
    const got = flat(echo.headers[canonicalHeaderKey(k)]);
    if (got !== v) failures.push(`upstream request header ${k}: got '${String(got)}', expected '${v}'`);
  }
  for (const k of e.absentRequestHeaders) {
    const got = echo.headers[canonicalHeaderKey(k)];
    if (got !== undefined) failures.push(`upstream request header ${k} should be absent, got '${String(flat(got))}'`);
  }
}

function checkSplit(failures: string[], want: Record<string, number>, results: HttpResult[], podServices: Map<string, Set<string>>): void {
  const tally = new Map<string, number>();
  for (const r of results) {
    const echo = echoOf(r);
    const key = echo ? backendOf(echo, podServices, Object.keys(want)) : `error ${'error' in r ? r.error : `status ${r.status}`}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  const total = Object.values(want).reduce((a, b) => a + b, 0);
  const show = [...tally].map(([k, n]) => `${k}=${n}`).join(', ');
  for (const key of new Set([...Object.keys(want), ...tally.keys()])) {
    const w = (want[key] ?? 0) / total;
    const g = (tally.get(key) ?? 0) / results.length;
    // The suite allows 5 percentage points over 500 requests.
    if (Math.abs(w - g) > 0.05) failures.push(`split: ${key} got ${(g * 100).toFixed(1)}%, expected ${(w * 100).toFixed(1)}% (${show})`);
  }
}

/**
 * gRPC answers errors as HTTP 200 with a grpc-status; the golden expectations write the HTTP
 * status a route() decision stands for (their header: Unimplemented where route() answers 404).
 * Map back with gRPC's HTTP mapping so both kinds of answers compare the same way.
 */
const GRPC_TO_HTTP: Record<string, number> = { '0': 200, '12': 404, '14': 503, '4': 504, '13': 500, '2': 500, '7': 403, '16': 401 };

function effectiveStatus(r: { status: number; headers: Record<string, string[] | undefined> }): { status: number; note: string } {
  const grpc = r.headers['grpc-status']?.[0];
  const isGrpc = r.headers['content-type']?.[0]?.startsWith('application/grpc') ?? false;
  if (!isGrpc || grpc === undefined || r.status !== 200) return { status: r.status, note: '' };
  return { status: GRPC_TO_HTTP[grpc] ?? 500, note: ` (grpc-status ${grpc})` };
}

/** Failures for one expectation; `results` holds one response, or many for a split. */
export function checkHttpOutcome(q: RequestExpectation, authority: string, results: HttpResult[], podServices: Map<string, Set<string>>, opts: CheckOptions = {}): string[] {
  const e = q.expect;
  const failures: string[] = [];
  if (e.split !== null) {
    checkSplit(failures, e.split, results, podServices);
    return failures;
  }
  const r = results[0];
  if (r === undefined) return ['no response recorded'];
  if ('error' in r) return [`request failed: ${r.error}`];
  const { status, note } = effectiveStatus(r);
  if (e.status !== null && status !== e.status) failures.push(`status: got ${status}${note}, expected ${e.status} (body: ${r.body.slice(0, 200)})`);
  if (e.location !== null && flat(r.headers['location']) !== e.location) failures.push(`Location: got '${String(flat(r.headers['location']))}', expected '${e.location}'`);
  checkResponseHeaders(failures, r, e);
  const echo = echoOf(r);
  if (status === 200 && echo === null) failures.push(`a 200 that is not from an echo backend: ${r.body.slice(0, 200)}`);
  if (echo) checkEcho(failures, q, authority, echo, podServices, opts);
  return failures;
}

/** Attempts to send for an expectation: many for weighted splits and partial mirrors. */
export function attemptsFor(q: RequestExpectation): number {
  if (q.expect.split) return 100;
  if (Object.values(q.expect.mirrors ?? {}).some((p) => p > 0 && p < 100)) return 200;
  return 1;
}

/** Which pods logged each x-e2e-id (from the echo processes' stdout). */
export function seenIds(outputs: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  for (const line of outputs.join('\n').split('\n')) {
    if (!line.startsWith('{"seen"')) continue;
    const { seen: id, pod } = JSON.parse(line) as { seen: string; pod: string };
    seen.set(id, [...(seen.get(id) ?? []), pod]);
  }
  return seen;
}

/**
 * Mirrors are fire-and-forget, so their arrival is awaited (bounded): a 100% mirror must reach
 * the mirror Service's pods for every attempt, a partial one about its share (±12 points over
 * 200 attempts: above 3 standard deviations, still far below the 15 points between the suite's
 * percentages), a 0% one never.
 */
export async function checkMirrors(q: RequestExpectation, id: string, attempts: number, outputs: () => string[], podServices: Map<string, Set<string>>): Promise<string[]> {
  const mirrors = Object.entries(q.expect.mirrors ?? {});
  if (mirrors.length === 0) return [];
  const count = (svc: string): number => {
    const seen = seenIds(outputs());
    let n = 0;
    for (let k = 0; k < attempts; k++) if ((seen.get(`${id}-${k}`) ?? []).some((pod) => podServices.get(pod)?.has(svc))) n++;
    return n;
  };
  const deadline = Date.now() + 3_000;
  const done = (): boolean => mirrors.every(([svc, p]) => (p === 100 ? count(svc) === attempts : false));
  while (Date.now() < deadline && !done()) await new Promise((r) => setTimeout(r, 50));
  const failures: string[] = [];
  for (const [svc, p] of mirrors) {
    const got = count(svc);
    const share = (got / attempts) * 100;
    if (p === 100 && got !== attempts) failures.push(`mirror: ${svc} received ${got} of ${attempts} requests, expected all`);
    if (p === 0 && got !== 0) failures.push(`mirror: ${svc} received ${got} of ${attempts} requests, expected none`);
    if (p > 0 && p < 100 && Math.abs(share - p) > 12) failures.push(`mirror: ${svc} received ${share.toFixed(1)}% of ${attempts} requests, expected about ${p}%`);
  }
  return failures;
}
