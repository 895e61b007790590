// Workload identity contracts (DESIGN.md "Identity"): the SPIFFE ID every meshed workload is
// known by, the names of the CA's Secret and of the published trust bundle, the token audience,
// the ALPN names that say what rides inside a meshlet mTLS hop, and the two messages of the
// certificate exchange over the config channel (the agent sends `csr`, the controller answers
// `certificate` or `certificate-error`). The wire union in wire.ts absorbs these messages;
// validateIdentityMessage() checks their shape in the same way parseMessage() checks the rest.
import { MeshletError, type ValidationIssue } from './errors.ts';

export const SPIFFE_SCHEME = 'spiffe://';
/** Audience of the projected ServiceAccount token an agent presents with its CSR. */
export const CA_TOKEN_AUDIENCE = 'meshlet-ca';
export const MESHLET_SYSTEM_NAMESPACE = 'meshlet-system';

/** The CA's Secret, in cert-manager's layout so a cert-manager Certificate can provide it. */
export const CA_SECRET = {
  namespace: MESHLET_SYSTEM_NAMESPACE,
  name: 'meshlet-ca',
  /** The trust bundle (the root, or the user's roots for a plug-in intermediate). */
  caKey: 'ca.crt',
  /** The issuing certificate, followed by any intermediates up to (not including) a root. */
  certKey: 'tls.crt',
  keyKey: 'tls.key',
} as const;

/** The trust bundle in every injected namespace, mounted by sidecars to verify peers. */
export const ROOT_CA_CONFIGMAP = { name: 'meshlet-root-ca', key: 'root-cert.pem' } as const;

/** ALPN protocol names of a meshlet-to-meshlet hop, naming the protocol carried inside. */
export const MESHLET_ALPN = {
  h2: 'meshlet/h2',
  http1: 'meshlet/http1.1',
  tcp: 'meshlet/tcp',
} as const;
export type MeshletAlpn = (typeof MESHLET_ALPN)[keyof typeof MESHLET_ALPN];
/**
 * A `meshlet/tcp` hop whose client first sends its workload name (one length byte, then the
 * name) before the tunnel's bytes. Clients offer it ahead of `meshlet/tcp`; a server that does
 * not know it selects `meshlet/tcp`, so either side may be older (ADR 0009).
 */
export const MESHLET_TCP_WORKLOAD_ALPN = 'meshlet/tcp+workload';
export const MESHLET_ALPNS: readonly MeshletAlpn[] = [MESHLET_ALPN.h2, MESHLET_ALPN.http1, MESHLET_ALPN.tcp];

export function isMeshletAlpn(name: string | false | null | undefined): name is MeshletAlpn {
  return typeof name === 'string' && (MESHLET_ALPNS as readonly string[]).includes(name);
}

export interface SpiffeId {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** A string that is not `spiffe://<td>/ns/<ns>/sa/<sa>` with valid Kubernetes names. */
export class SpiffeIdInvalidError extends MeshletError {
  readonly value: string;
  constructor(value: string, reason: string) {
    super('E_SPIFFE_ID_INVALID', `invalid SPIFFE ID '${value.slice(0, 300)}': ${reason}`);
    this.value = value;
  }
}

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** DNS-1123 label: what Kubernetes allows as a namespace name. */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && LABEL.test(s);
}

/** DNS-1123 subdomain: ServiceAccount names, trust domains. */
export function isDnsSubdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every(isDnsLabel);
}

function problem(id: SpiffeId): string | null {
  if (!isDnsSubdomain(id.trustDomain)) return `trust domain '${id.trustDomain}' is not a lower-case DNS name`;
  if (!isDnsLabel(id.namespace)) return `namespace '${id.namespace}' is not a DNS-1123 label`;
  if (!isDnsSubdomain(id.serviceAccount)) return `service account '${id.serviceAccount}' is not a DNS-1123 subdomain`;
  return null;
}

export function formatSpiffeId(id: SpiffeId): string {
  const s = `${SPIFFE_SCHEME}${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
  const why = problem(id);
  if (why) throw new SpiffeIdInvalidError(s, why);
  return s;
}

/**
 * Strict: exactly the scheme, a trust domain and the four path segments; no query, fragment,
 * port, user info, trailing slash, upper case or percent-encoding. A peer certificate whose URI
 * SAN is only "almost" an identity is treated as no identity at all.
 */
export function parseSpiffeId(value: string): SpiffeId {
  if (!value.startsWith(SPIFFE_SCHEME)) throw new SpiffeIdInvalidError(value, `must start with ${SPIFFE_SCHEME}`);
  const rest = value.slice(SPIFFE_SCHEME.length);
  const parts = rest.split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa') throw new SpiffeIdInvalidError(value, 'the path must be exactly /ns/<namespace>/sa/<serviceaccount>');
  const id = { trustDomain: parts[0]!, namespace: parts[2]!, serviceAccount: parts[4]! };
  const why = problem(id);
  if (why) throw new SpiffeIdInvalidError(value, why);
  return id;
}

export function isValidSpiffeId(value: string): boolean {
  try {
    parseSpiffeId(value);
    return true;
  } catch {
    return false;
  }
}

export const IDENTITY_LIMITS = {
  csrPemBytes: 16 * 1024,
  tokenBytes: 64 * 1024,
  certPemBytes: 16 * 1024,
  chainLength: 8,
  roots: 16,
} as const;

/** Agent → controller: sign this CSR for the identity that `token` proves. */
export interface CsrMessage { type: 'csr'; id: number; csrPem: string; token: string }
/** Controller → agent: the leaf first, then intermediates; `notAfter` of the leaf (RFC 3339). */
export interface CertificateMessage { type: 'certificate'; id: number; chainPem: string[]; rootsPem: string[]; notAfter: string }
/** Controller → agent: no certificate; `retryable` when asking again later may succeed. */
export interface CertificateErrorMessage { type: 'certificate-error'; id: number; code: CsrErrorCode; message: string; retryable: boolean }

/**
 * Controller → agent, unasked: the mesh's trust bundle changed (a root rotation). Verify peers and
 * the controller against `rootsPem` from now on; `renew` asks for a new certificate now (the CA
 * issues from a new issuer). `id` is always 0 (no request answered).
 */
export interface TrustBundleMessage { type: 'trust-bundle'; id: number; rootsPem: string[]; renew: boolean }

export type IdentityAgentMessage = CsrMessage;
export type IdentityControllerMessage = CertificateMessage | CertificateErrorMessage | TrustBundleMessage;
export type IdentityMessage = IdentityAgentMessage | IdentityControllerMessage;

/** Why a CSR got no certificate. Only E_CSR_REVIEW_UNAVAILABLE and E_CA_UNAVAILABLE are worth retrying soon. */
export const CSR_ERROR_CODES = [
  'E_CSR_INVALID',
  'E_CSR_UNAUTHENTICATED',
  'E_CSR_POD_NOT_FOUND',
  'E_CSR_REVIEW_UNAVAILABLE',
  'E_CA_UNAVAILABLE',
] as const;
export type CsrErrorCode = (typeof CSR_ERROR_CODES)[number];

export const IDENTITY_AGENT_TYPES: ReadonlySet<string> = new Set(['csr']);
export const IDENTITY_CONTROLLER_TYPES: ReadonlySet<string> = new Set(['certificate', 'certificate-error', 'trust-bundle']);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pemList(o: Obj, key: string, max: number, issues: ValidationIssue[]): void {
  const v = o[key];
  if (!Array.isArray(v)) return void issues.push({ path: key, message: 'must be an array of PEM strings' });
  if (v.length > max) return void issues.push({ path: key, message: `more than ${max} certificates` });
  v.forEach((p, i) => {
    if (typeof p !== 'string' || !p.includes('-----BEGIN CERTIFICATE-----')) issues.push({ path: `${key}[${i}]`, message: 'must be a PEM certificate' });
    else if (p.length > IDENTITY_LIMITS.certPemBytes) issues.push({ path: `${key}[${i}]`, message: `longer than ${IDENTITY_LIMITS.certPemBytes} characters` });
  });
}

function str(o: Obj, key: string, max: number, issues: ValidationIssue[]): void {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) issues.push({ path: key, message: 'must be a non-empty string' });
  else if (v.length > max) issues.push({ path: key, message: `longer than ${max} characters` });
}

/**
 * The shape problems of an identity message (empty when well-formed). The caller has already
 * checked that `type` is one the sender may send (IDENTITY_*_TYPES).
 */
export function validateIdentityMessage(value: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!isObj(value)) return [{ path: '', message: 'must be an object' }];
  if (!Number.isInteger(value.id) || (value.id as number) < 0) issues.push({ path: 'id', message: 'must be a non-negative integer' });
  switch (value.type) {
    case 'csr':
      str(value, 'csrPem', IDENTITY_LIMITS.csrPemBytes, issues);
      str(value, 'token', IDENTITY_LIMITS.tokenBytes, issues);
      break;
    case 'certificate':
      pemList(value, 'chainPem', IDENTITY_LIMITS.chainLength, issues);
      pemList(value, 'rootsPem', IDENTITY_LIMITS.roots, issues);
      if (Array.isArray(value.chainPem) && value.chainPem.length === 0) issues.push({ path: 'chainPem', message: 'must hold the leaf certificate' });
      if (Array.isArray(value.rootsPem) && value.rootsPem.length === 0) issues.push({ path: 'rootsPem', message: 'must hold at least one root' });
      if (typeof value.notAfter !== 'string' || Number.isNaN(Date.parse(value.notAfter))) issues.push({ path: 'notAfter', message: 'must be an RFC 3339 time' });
      break;
    case 'trust-bundle':
      pemList(value, 'rootsPem', IDENTITY_LIMITS.roots, issues);
      if (Array.isArray(value.rootsPem) && value.rootsPem.length === 0) issues.push({ path: 'rootsPem', message: 'must hold at least one root' });
      if (typeof value.renew !== 'boolean') issues.push({ path: 'renew', message: 'must be a boolean' });
      break;
    case 'certificate-error':
      if (!(CSR_ERROR_CODES as readonly unknown[]).includes(value.code)) issues.push({ path: 'code', message: `must be one of ${CSR_ERROR_CODES.join(', ')}` });
      str(value, 'message', 4096, issues);
      if (typeof value.retryable !== 'boolean') issues.push({ path: 'retryable', message: 'must be a boolean' });
      break;
    default:
      issues.push({ path: 'type', message: `'${String(value.type)}' is not an identity message` });
  }
  return issues;
}
