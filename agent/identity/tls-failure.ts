// A handshake failure in words an operator can act on, for logs and the 503 reason: OpenSSL's
// codes say what failed, not what it means in a mesh (an untrusted issuer is another mesh's or
// nobody's certificate; an expired one is a sidecar that could not renew).
import { PeerIdentityMismatchError } from './errors.ts';

const REASONS: Record<string, string> = {
  CERT_HAS_EXPIRED: "the peer's certificate has expired (its sidecar could not renew it)",
  CERT_NOT_YET_VALID: "the peer's certificate is not valid yet (clocks differ by more than the CA's allowance)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the peer's certificate was not issued by this mesh's CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the peer's certificate was not issued by this mesh's CA",
  SELF_SIGNED_CERT_IN_CHAIN: "the peer's certificate chains to a root this mesh does not trust",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the peer presented a self-signed certificate",
  CERT_SIGNATURE_FAILURE: "the peer's certificate signature is invalid",
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'the peer requires a client certificate (mTLS) and we presented none',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the peer refused our certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "the peer does not trust our certificate's CA",
  ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL: 'the peer does not speak the requested meshlet protocol (ALPN)',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'the peer does not offer TLS 1.3',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'the peer does not offer TLS 1.3',
};

export function describeTlsFailure(err: unknown): string {
  if (err instanceof PeerIdentityMismatchError) return err.message;
  const code = (err as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' ? REASONS[code] : undefined;
  const m = (err as { message?: unknown } | null)?.message;
  const detail = typeof m === 'string' ? m : String(err);
  if (!known) return `TLS handshake failed: ${detail}`;
  return detail === code ? `${known} (${code})` : `${known} (${String(code)}: ${detail})`;
}
