// AdmissionReview v1 in, AdmissionReview v1 out: the webhook's decisions without the HTTP. A
// review we cannot answer by uid (not JSON, not a v1 AdmissionReview, no uid) is a 400, since
// the API server could not match an answer to it anyway; a pod that cannot be injected is
// denied with a message naming the cause; anything that is not a pod CREATE is allowed as is.
import { MeshletError } from '../../api/errors.ts';
import { inject, type MeshConfig } from '../inject/index.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** What the webhook knows of the pod's namespace: labels select, annotations set defaults. */
export interface NamespaceMeta {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Kubernetes truncates longer warnings; ours stay readable by being short to begin with. */
const WARNING_MAX = 256;

export class AdmissionReviewInvalidError extends MeshletError {
  constructor(message: string) {
    super('E_ADMISSION_REVIEW_INVALID', message);
  }
}

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  subResource?: string;
  namespace?: string;
  name?: string;
  operation?: string;
  object?: unknown;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON Patch. */
  patch?: string;
  warnings?: string[];
  status?: { status: 'Failure'; code: number; reason: string; message: string };
}

export interface AdmissionReview {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The request of a v1 AdmissionReview; throws AdmissionReviewInvalidError otherwise. */
export function parseReview(body: string): AdmissionRequest {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new AdmissionReviewInvalidError('the body is not JSON');
  }
  if (!isObj(v) || v.kind !== 'AdmissionReview') throw new AdmissionReviewInvalidError('expected kind AdmissionReview');
  if (v.apiVersion !== ADMISSION_API_VERSION) throw new AdmissionReviewInvalidError(`expected apiVersion ${ADMISSION_API_VERSION} (admissionReviewVersions: [v1]), got ${JSON.stringify(v.apiVersion)}`);
  const req = v.request;
  if (!isObj(req) || typeof req.uid !== 'string' || req.uid === '') throw new AdmissionReviewInvalidError('request.uid is missing');
  return req as unknown as AdmissionRequest;
}

export function reviewOf(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

/** Whether this request is one we inject: a pod being created (not a subresource). */
export function isPodCreate(req: AdmissionRequest): boolean {
  return req.kind?.kind === 'Pod' && (req.kind.group ?? '') === '' && req.operation === 'CREATE' && !req.subResource;
}

/** The pod's namespace as the API server states it (a new pod's metadata may not carry it yet). */
export function namespaceOf(req: AdmissionRequest): string {
  if (typeof req.namespace === 'string' && req.namespace !== '') return req.namespace;
  const meta = isObj(req.object) && isObj(req.object.metadata) ? req.object.metadata : {};
  return typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
}

/**
 * Answers one pod CREATE. Errors other than MeshletErrors are thrown: the server turns them into
 * a 500, so the API server applies the configured failurePolicy rather than our verdict.
 */
export function admit(req: AdmissionRequest, mesh: MeshConfig, namespaceMeta: NamespaceMeta | undefined): AdmissionResponse {
  if (!isPodCreate(req)) return { uid: req.uid, allowed: true };
  try {
    const r = inject(req.object, { name: namespaceOf(req), ...(namespaceMeta ? { labels: namespaceMeta.labels, annotations: namespaceMeta.annotations ?? {} } : {}) }, mesh);
    const warnings = r.warnings.map((w) => `meshlet: ${w}`.slice(0, WARNING_MAX));
    return {
      uid: req.uid,
      allowed: true,
      ...(r.patch.length > 0 ? { patchType: 'JSONPatch' as const, patch: Buffer.from(JSON.stringify(r.patch)).toString('base64') } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  } catch (err) {
    if (!(err instanceof MeshletError)) throw err;
    return { uid: req.uid, allowed: false, status: { status: 'Failure', code: 400, reason: 'BadRequest', message: `meshlet: ${err.message}` } };
  }
}
