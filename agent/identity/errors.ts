// One error class per stable code for the agent's side of identity.
import { MeshletError } from '../../api/errors.ts';

/** The controller refused or failed our CSR (code is the controller's E_CSR_… / E_CA_…). */
export class CertificateRequestError extends MeshletError {
  readonly retryable: boolean;
  readonly remoteCode: string;
  constructor(remoteCode: string, message: string, retryable: boolean) {
    super('E_CERTIFICATE_REQUEST', `certificate request refused (${remoteCode}): ${message}`);
    this.remoteCode = remoteCode;
    this.retryable = retryable;
  }
}

/** A certificate answer we cannot use (not for our key, no SPIFFE ID, unreadable). */
export class CertificateAnswerInvalidError extends MeshletError {
  constructor(message: string, options?: ErrorOptions) {
    super('E_CERTIFICATE_ANSWER_INVALID', message, options);
  }
}

/** The peer's certificate verified, but names another identity than the routing table expects. */
export class PeerIdentityMismatchError extends MeshletError {
  readonly expected: string;
  readonly presented: string | null;
  constructor(expected: string, presented: string | null) {
    super('E_TLS_PEER_IDENTITY', presented === null
      ? `the peer's certificate has no SPIFFE ID (expected ${expected})`
      : `the peer is ${presented}, not the expected ${expected}`);
    this.expected = expected;
    this.presented = presented;
  }
}

/** No workload certificate yet: mTLS cannot start (the caller answers 503 or waits). */
export class NoWorkloadCertificateError extends MeshletError {
  constructor() {
    super('E_NO_WORKLOAD_CERTIFICATE', 'no workload certificate yet: the controller has not issued one');
  }
}
