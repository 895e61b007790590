// The few Kubernetes API calls identity makes, through a structural client so this folder does
// not depend on the provider: the controller's KubeClient fits it, and tests may wrap one
// pointed at the fake apiserver (adding the TokenReview endpoint the fake does not serve).

export interface IdentityKubeClient {
  request<T>(method: 'GET' | 'POST' | 'PUT', path: string, opts?: { body?: unknown; query?: Record<string, string | undefined>; timeoutMs?: number }): Promise<T>;
}

/** The HTTP status of a failed request (KubeApiError's statusCode; 0 = unreachable), if any. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
}

export interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
}

export interface ConfigMapObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  data?: Record<string, string>;
}

const seg = encodeURIComponent;

export const paths = {
  secret: (ns: string, name?: string): string => `/api/v1/namespaces/${seg(ns)}/secrets${name === undefined ? '' : `/${seg(name)}`}`,
  configMap: (ns: string, name?: string): string => `/api/v1/namespaces/${seg(ns)}/configmaps${name === undefined ? '' : `/${seg(name)}`}`,
  pod: (ns: string, name: string): string => `/api/v1/namespaces/${seg(ns)}/pods/${seg(name)}`,
  namespaces: '/api/v1/namespaces',
  tokenReviews: '/apis/authentication.k8s.io/v1/tokenreviews',
} as const;

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'meshlet' } as const;
