// The SPIFFE ID in a certificate, as node:tls shows it (`subjectaltname`, "URI:…, DNS:…").
// Exactly one URI SAN that is a strict SPIFFE ID counts; anything else is no identity at all, so
// a certificate with two identities cannot be read as whichever suits the reader.
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { isValidSpiffeId } from '../../api/identity.ts';

export function spiffeIdOf(cert: Pick<PeerCertificate, 'subjectaltname'> | null | undefined): string | null {
  const san = cert?.subjectaltname;
  if (!san) return null;
  const uris = san.split(', ').filter((e) => e.startsWith('URI:')).map((e) => e.slice(4));
  if (uris.length !== 1) return null;
  const [uri] = uris as [string];
  return isValidSpiffeId(uri) ? uri : null;
}

/** The verified peer's identity on a server-side socket; null when the peer is not authorized. */
export function peerIdentity(socket: TLSSocket): string | null {
  if (!socket.authorized) return null;
  return spiffeIdOf(socket.getPeerCertificate());
}
