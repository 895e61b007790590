// Who may say `mode: ingress`. Gateways carry their listeners' TLS private keys, so the claim
// must be proven: by the ingress's ServiceAccount token, reviewed by token-review.ts (the default
// with the mesh CA), or by a shared bearer token the controller reads from --ingress-token-file.
// With neither, the controller serves Gateways only to connections from this host (file mode,
// `meshlet dev`), never to the network. Every failure refuses: there is no fallback that lets an
// unproven ingress through.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { MeshletError } from '../../api/errors.ts';
import type { HelloMessage } from '../../api/wire.ts';

/** An ingress hello that could not prove it may read Gateways (and their keys). */
export class IngressUnauthenticatedError extends MeshletError {
  /** What the controller logs; the agent is told less (see `message`). */
  readonly reason: string;
  constructor(message: string, reason: string) {
    super('E_WIRE_UNAUTHENTICATED', message);
    this.reason = reason;
  }
}

export interface IngressAuthOptions {
  /**
   * The expected token, asked for at every ingress hello (so a rotated file applies without a
   * restart); throwing refuses the hello. Undefined: no token configured, loopback only.
   */
  token?: (() => string) | undefined;
  /** Whether the connection comes from this host; injectable so tests can play "remote". */
  isLoopback?: ((remoteAddress: string | undefined) => boolean) | undefined;
  /**
   * Whether `authenticate` already proved this hello is the ingress's identity (its reviewed
   * ServiceAccount token): then neither the shared token nor loopback is asked for.
   */
  proven?: ((hello: HelloMessage) => boolean) | undefined;
}

/** 127.0.0.0/8, ::1, and IPv4-mapped 127/8: addresses only this host can connect from. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return isIP(address) === 6 && (address === '::1' || address === '0:0:0:0:0:0:0:1');
}

/** Equal in time independent of where the strings differ (hashing first hides the lengths too). */
export function tokensEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** Throws IngressUnauthenticatedError unless this hello may read Gateways. Sidecars pass through. */
export function checkIngress(hello: HelloMessage, remoteAddress: string | undefined, opts: IngressAuthOptions): void {
  if (hello.agent.mode !== 'ingress') return;
  if (opts.proven?.(hello)) return;
  const refuse = (reason: string): never => {
    throw new IngressUnauthenticatedError(`ingress hello refused: ${reason}`, reason);
  };
  if (!opts.token) {
    const local = (opts.isLoopback ?? isLoopbackAddress)(remoteAddress);
    if (!local) refuse(`no ingress token is configured on the controller (--ingress-token-file), so Gateways are served only to connections from its own host, not ${remoteAddress ?? 'an unknown address'}`);
    return;
  }
  if (hello.auth.type !== 'token') refuse(`a bearer token is required (auth type '${hello.auth.type}'; start the ingress with --token-file)`);
  let expected: string;
  try {
    expected = opts.token();
  } catch (err) {
    return refuse(`the controller cannot read its ingress token: ${(err as Error).message}`);
  }
  if (expected === '') refuse('the controller\'s ingress token is empty');
  const sent = hello.auth.type === 'token' ? hello.auth.token : '';
  if (!tokensEqual(sent, expected)) refuse('the bearer token does not match');
}
