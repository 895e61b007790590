// Agents that already hold a workload certificate authenticate the config channel with it
// (hello auth `client-certificate`): the TLS server asks for a client certificate (optional, so
// the first, token-authenticated connection of a new pod still works), node:tls verifies it
// against the mesh's trust bundle, and the identity is the certificate's SPIFFE ID, never what
// the hello says. A sidecar's hello must claim the namespace and ServiceAccount of its
// certificate (its view is that namespace's); an ingress hello must be the configured ingress
// identity, which then proves it for Gateways and their TLS Secrets. Other auth types go to the
// next authenticator (token review) unchanged.
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { isValidSpiffeId, parseSpiffeId, type SpiffeId } from '../../api/identity.ts';
import type { HelloMessage } from '../../api/wire.ts';
import { AgentUnauthenticatedError } from './token-review.ts';

export interface ClientCertAuthOptions {
  trustDomain: string;
  /** The shared ingress's ServiceAccount: the only certificate identity that may say `mode: ingress`. */
  ingressIdentity?: { namespace: string; serviceAccount: string } | undefined;
  /** For hellos that do not use a client certificate (token review); default accept. */
  next?: ((hello: HelloMessage, request: http.IncomingMessage) => void | Promise<void>) | undefined;
  nextProven?: ((hello: HelloMessage) => boolean) | undefined;
}

export interface ClientCertAuthenticator {
  (hello: HelloMessage, request: http.IncomingMessage): void | Promise<void>;
  provenIngress(hello: HelloMessage): boolean;
}

/** The single strict SPIFFE URI SAN of a certificate as node:tls shows it, or null. */
function spiffeOf(san: string | undefined): string | null {
  const uris = (san ?? '').split(', ').filter((e) => e.startsWith('URI:')).map((e) => e.slice(4));
  return uris.length === 1 && isValidSpiffeId(uris[0]!) ? uris[0]! : null;
}

export function clientCertificateAuthenticator(o: ClientCertAuthOptions): ClientCertAuthenticator {
  const proven = new WeakSet<HelloMessage>();
  const refuse = (why: string): never => {
    throw new AgentUnauthenticatedError(`client certificate refused: ${why}`);
  };
  const authenticate = (hello: HelloMessage, request: http.IncomingMessage): void | Promise<void> => {
    if (hello.auth.type !== 'client-certificate') return o.next?.(hello, request);
    const socket = request.socket as Partial<TLSSocket>;
    if (!socket.encrypted || typeof socket.getPeerCertificate !== 'function') return refuse('the connection is not TLS');
    const cert = socket.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) return refuse('the hello says client-certificate but none was presented');
    if (!socket.authorized) return refuse(`${String(socket.authorizationError)} (expired, not yet valid, or not issued by this mesh's CA)`);
    const uri = spiffeOf(cert.subjectaltname);
    if (!uri) return refuse(`it names no SPIFFE ID (${cert.subjectaltname ?? 'no SAN'})`);
    const id: SpiffeId = parseSpiffeId(uri);
    if (id.trustDomain !== o.trustDomain) return refuse(`${uri} is not of trust domain ${o.trustDomain}`);
    const a = hello.agent;
    if (a.mode === 'ingress') {
      const ing = o.ingressIdentity;
      if (!ing || id.namespace !== ing.namespace || id.serviceAccount !== ing.serviceAccount) {
        return refuse(`${uri} may not be the ingress (the ingress identity is ${ing ? `${ing.namespace}/${ing.serviceAccount}` : 'not configured'})`);
      }
      proven.add(hello);
      return;
    }
    if (id.namespace !== a.namespace) return refuse(`the certificate is for namespace ${id.namespace} (${uri}), the hello claims namespace ${a.namespace}`);
    if (a.serviceAccount && id.serviceAccount !== a.serviceAccount) return refuse(`the certificate is for ServiceAccount ${id.serviceAccount} (${uri}), the hello claims ${a.serviceAccount}`);
  };
  return Object.assign(authenticate, { provenIngress: (hello: HelloMessage) => proven.has(hello) || (o.nextProven?.(hello) ?? false) });
}
