// controller/identity/: the mesh certificate authority. It loads or creates the CA Secret
// (generated root, or the user's plug-in intermediate, validated), issues workload certificates
// whose only name is the SPIFFE ID proven by a reviewed ServiceAccount token (never what the CSR
// asks for), issues the controller's own serving certificates, and keeps the root bundle
// published in every injected namespace. node-forge builds certificates; node:crypto makes keys
// and performs the RSA operations (ADR 0005). Nothing here knows the config channel: the
// publisher passes a csr message to CsrAuthorizer and sends back what it answers.
export { CaBootstrapError, CaInvalidError, CaUnavailableError, CsrError, CsrInvalidError, CsrPodNotFoundError, CsrReviewUnavailableError, CsrUnauthenticatedError } from './errors.ts';
export { RSA_BITS, generateRsaKeyPair, rsaSigner, type KeyPairPem } from './keys.ts';
export { buildCertificate, randomSerial, type CertificateSpec, type Issuer } from './build-cert.ts';
export { loadCa, splitPem, type CaMaterial, type CertificateAuthority } from './ca.ts';
export { generateRoot, CLOCK_SKEW_MS, ROOT_LIFETIME_MS, type RootOptions } from './root.ts';
export { csrPublicKey } from './csr.ts';
export { issueWorkloadCertificate, issueServingCertificate, controllerDnsNames, WORKLOAD_LIFETIME_MS, SERVING_LIFETIME_MS, type IssuedCertificate, type ServingCertificate, type WorkloadRequest, type ServingRequest } from './issue.ts';
export { statusOf, type IdentityKubeClient } from './kube.ts';
export { bootstrapCa, type BootstrapOptions, type Bootstrapped } from './bootstrap.ts';
export { RootPublisher, type RootPublisherOptions, type SyncResult } from './root-publisher.ts';
export { CsrAuthorizer, type CsrAuthorizerOptions, type CsrRequest, type Authorized } from './csr-authorizer.ts';
export { CaWatcher, type CaWatcherOptions } from './ca-watcher.ts';
export { TrustBundle } from './trust-bundle.ts';
