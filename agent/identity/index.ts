// agent/identity/: this workload's identity and the TLS it speaks with other meshlet hops. The
// CertificateManager keeps a key (in memory only) and a certificate from the mesh CA, renewing
// at half life through a requestCertificate() the composition wires to the config channel;
// tls-options builds node:tls options from it: outbound mTLS that insists on the endpoint's
// expected SPIFFE ID, and an inbound TLS server that only lets verified peers through, both
// following rotations without dropping live connections.
export { CertificateManager, type CertificateAnswer, type CertificateManagerOptions, type WorkloadCertificate } from './certificate-manager.ts';
export { buildCsr, generateWorkloadKey, type WorkloadKey } from './csr.ts';
export { CertificateAnswerInvalidError, CertificateRequestError, NoWorkloadCertificateError, PeerIdentityMismatchError } from './errors.ts';
export { peerIdentity, spiffeIdOf } from './peer-identity.ts';
export { SecureContextCache, createInboundTlsServer, outboundTlsOptions, requirePeerIdentity, type CertificateSource, type InboundTlsServerOptions, type OutboundTlsOptions } from './tls-options.ts';
export { describeTlsFailure } from './tls-failure.ts';
