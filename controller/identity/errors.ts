// One error class per stable code. The CSR errors carry `retryable` so the config channel can
// answer a certificate-error the agent knows how to treat: a refused identity is final, a
// TokenReview the apiserver could not answer is "try later", and neither ever yields a certificate.
import { MeshletError } from '../../api/errors.ts';
import type { CsrErrorCode } from '../../api/identity.ts';

/** The CA material (generated, or the user's plug-in Secret) cannot be used to issue. */
export class CaInvalidError extends MeshletError {
  constructor(message: string, options?: ErrorOptions) {
    super('E_CA_INVALID', message, options);
  }
}

/** The CA Secret could not be read or created (the apiserver failed, not the material). */
export class CaBootstrapError extends MeshletError {
  constructor(message: string, options?: ErrorOptions) {
    super('E_CA_BOOTSTRAP', message, options);
  }
}

/** Base of the errors a CSR can be answered with; `code` is one of CSR_ERROR_CODES. */
export abstract class CsrError extends MeshletError {
  declare readonly code: CsrErrorCode;
  abstract readonly retryable: boolean;
}

/** Not a PEM CSR, a bad signature, or a key type or size the CA does not sign. */
export class CsrInvalidError extends CsrError {
  readonly retryable = false;
  constructor(message: string, options?: ErrorOptions) {
    super('E_CSR_INVALID', message, options);
  }
}

/** The token was refused by TokenReview, or is not a ServiceAccount's, or not for our audience. */
export class CsrUnauthenticatedError extends CsrError {
  readonly retryable = false;
  constructor(message: string) {
    super('E_CSR_UNAUTHENTICATED', message);
  }
}

/** The token is bound to a pod that no longer exists (or is not the pod that asked). */
export class CsrPodNotFoundError extends CsrError {
  readonly retryable = false;
  constructor(message: string) {
    super('E_CSR_POD_NOT_FOUND', message);
  }
}

/** The apiserver could not review the token or look up the pod: ask again later. */
export class CsrReviewUnavailableError extends CsrError {
  readonly retryable = true;
  constructor(message: string, options?: ErrorOptions) {
    super('E_CSR_REVIEW_UNAVAILABLE', message, options);
  }
}

/** No usable CA (not bootstrapped yet, or its issuer has expired). */
export class CaUnavailableError extends CsrError {
  readonly retryable = true;
  constructor(message: string) {
    super('E_CA_UNAVAILABLE', message);
  }
}
