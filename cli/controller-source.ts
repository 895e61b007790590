// `--controller URL` for `meshlet agent` and `meshlet ingress`: the ControllerClient built from
// flags and the pod's environment (downward API: POD_NAME, POD_NAMESPACE, POD_SERVICE_ACCOUNT).
// The process does not wait for the controller to start: until the first table arrives the
// admin /ready answers 503, and the client keeps retrying in the background.
// --token-file (the ingress) is the bearer token the controller demands before it serves
// Gateways and their private keys; it is read again at each connection, so a rotated Secret
// applies on the next reconnect.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AgentAuth, AgentMode, SubscriptionTarget } from '../api/wire.ts';
import { ControllerClient } from '../agent/controller-client/index.ts';
// A type only: the identity module loads node-forge (~10 MB RSS), which an agent started with
// --no-mtls never needs; workloadCertificates imports it when mTLS is on (issue 16).
import type { CertificateManager } from '../agent/identity/index.ts';
import { UsageError } from './usage-error.ts';

export interface ControllerSourceFlags {
  controller: string;
  mode: AgentMode;
  pod?: string | undefined;
  namespace: string;
  serviceAccount?: string | undefined;
  targets?: SubscriptionTarget[];
  /** File holding the bearer token sent in the hello (surrounding whitespace ignored). */
  tokenFile?: string | undefined;
  /** PEM bundle the controller's wss:// certificate must chain to (meshlet-root-ca). */
  rootCaFile?: string | undefined;
  log: (line: string) => void;
}

/** The token in FILE, trimmed; throws UsageError when it cannot be read or is empty. */
export function readTokenFile(file: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read '${file}': ${(err as Error).message}`);
  }
  const token = text.trim();
  if (token === '') throw new UsageError(`${flag}: '${file}' is empty`);
  if (/\s/.test(token)) throw new UsageError(`${flag}: '${file}' must hold one token without whitespace`);
  return token;
}

/** Re-reads the file per connection; keeps the last good token (and says so) when it cannot. */
function tokenAuth(file: string, log: (line: string) => void): () => AgentAuth {
  let last = readTokenFile(file, '--token-file');
  return () => {
    try {
      last = readTokenFile(file, '--token-file');
    } catch (err) {
      log(`${(err as Error).message}; sending the last token read`);
    }
    return { type: 'token', token: last };
  };
}

export function controllerSource(f: ControllerSourceFlags): ControllerClient {
  let url: URL;
  try {
    url = new URL(f.controller);
  } catch {
    throw new UsageError(`--controller wants a ws:// or wss:// URL, got '${f.controller}'`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new UsageError(`--controller wants a ws:// or wss:// URL, got '${f.controller}'`);
  return new ControllerClient({
    url: f.controller,
    agent: {
      pod: f.pod ?? process.env.POD_NAME ?? hostname(),
      namespace: f.namespace,
      serviceAccount: f.serviceAccount ?? process.env.POD_SERVICE_ACCOUNT ?? 'default',
      mode: f.mode,
    },
    targets: f.targets ?? [],
    ...(f.tokenFile !== undefined ? { auth: tokenAuth(f.tokenFile, f.log) } : {}),
    ...(f.rootCaFile !== undefined ? { wsOptions: { ca: readPemFile(f.rootCaFile, '--root-ca-file') } } : {}),
    log: f.log,
  }).start();
}

function readPemFile(file: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read '${file}': ${(err as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`${flag}: '${file}' holds no PEM certificate`);
  return text;
}

/**
 * The workload's certificate from the controller's CA: key in memory, a CSR over the config
 * channel with the pod's projected token (re-read at each request: the kubelet rotates it),
 * renewed at half life. Started; the first certificate arrives in the background (until then
 * meshed endpoints fail with 503 and inbound mTLS is refused, never downgraded to plaintext).
 */
export async function workloadCertificates(client: ControllerClient, tokenFile: string, log: (line: string) => void): Promise<CertificateManager> {
  // The client is already connecting: its trust-bundle listener is registered before the
  // identity module is imported, so a bundle pushed meanwhile is still trusted at once.
  let manager: CertificateManager | null = null;
  // A root rotation: trust the pushed bundle for peers and the config channel at once; when the
  // CA issues from the new issuer, re-issue now rather than at half life.
  client.onTrustBundle((rootsPem, renew) => {
    client.trustRoots(rootsPem);
    // No manager yet: it holds no certificate to re-root, and its first request, just ahead,
    // is issued by the current issuer.
    if (!manager) return;
    manager.setRoots(rootsPem);
    if (renew) manager.renewNow();
  });
  const { CertificateManager } = await import('../agent/identity/index.ts');
  const started = new CertificateManager({
    requestCertificate: (csrPem) => client.requestCertificate(csrPem, readTokenFile(tokenFile, '--token-file')),
    log,
  });
  manager = started;
  started.onChange((cert) => {
    client.trustRoots(cert.rootsPem);
    // From now on the config channel is authenticated by this certificate (the token stays for CSRs).
    client.useClientCertificate({ certPem: cert.chainPem.join(''), keyPem: cert.keyPem, notAfter: cert.notAfter });
  });
  void started.start();
  return started;
}
