// Errors of the SO_ORIGINAL_DST addon wrapper: one class per stable code (api/errors.ts).
import { MeshletError } from '../../api/errors.ts';

/** The compiled addon is not there (not Linux, or `npm install` could not build it). */
export class NativeAddonMissingError extends MeshletError {
  constructor(cause: unknown) {
    super(
      'E_NATIVE_ADDON_MISSING',
      'the SO_ORIGINAL_DST addon (agent/native) is not built: run `npm rebuild` on Linux with python3, make and a C compiler',
      { cause },
    );
  }
}

/**
 * The connection reached the listener directly rather than through an iptables REDIRECT: there
 * is no conntrack entry (ENOENT) or the original destination is the listener itself.
 */
export class NotRedirectedError extends MeshletError {
  constructor(local: string, cause?: unknown) {
    super('E_NOT_REDIRECTED', `connection to ${local} was not redirected by iptables (no original destination)`, { cause });
  }
}

/** The socket has no usable file descriptor (already closed, or not a TCP socket). */
export class SocketDescriptorError extends MeshletError {
  constructor(reason: string) {
    super('E_SOCKET_DESCRIPTOR', `cannot read the socket's file descriptor: ${reason}`);
  }
}

/** getsockopt failed for another reason (conntrack unavailable, unexpected errno). */
export class OriginalDestinationError extends MeshletError {
  constructor(cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('E_ORIGINAL_DESTINATION', `cannot read the original destination: ${detail}`, { cause });
  }
}
