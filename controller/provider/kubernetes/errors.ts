import { MeshletError } from '../../../api/errors.ts';

/** The Kubernetes API answered with an error status (or could not be reached: statusCode 0). */
export class KubeApiError extends MeshletError {
  readonly statusCode: number;
  readonly reason: string;
  constructor(method: string, path: string, statusCode: number, reason: string, message: string, options?: ErrorOptions) {
    super('E_KUBE_API', `${method} ${path}: ${statusCode === 0 ? '' : `${statusCode} `}${reason}: ${message}`, options);
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

/** Neither --kubeconfig, $KUBECONFIG, ~/.kube/config nor an in-cluster service account gave a cluster. */
export class KubeConfigError extends MeshletError {
  constructor(message: string, options?: ErrorOptions) {
    super('E_KUBE_CONFIG', message, options);
  }
}

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof KubeApiError && err.statusCode === code;
}
