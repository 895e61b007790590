// agent/native: the sidecar's window into the kernel. A tiny C addon (src/original_dst.c, built
// by node-gyp at `npm install`, no prebuilt download) reads SO_ORIGINAL_DST /
// IP6T_SO_ORIGINAL_DST, the destination an intercepted connection had before `meshlet init`'s
// REDIRECT rules sent it to 15001/15006. The sidecar keys mesh routing on that ClusterIP:port.
// The addon is loaded lazily, so processes that never intercept (meshlet dev, the controller,
// tests on other platforms) work without it. It also gives malloc's free pages back to the
// kernel (releaseFreeMemory, glibc's malloc_trim), once an agent's start has settled (ADR 0012).
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import { NativeAddonMissingError, NotRedirectedError, OriginalDestinationError, SocketDescriptorError } from './errors.ts';

export { NativeAddonMissingError, NotRedirectedError, OriginalDestinationError, SocketDescriptorError } from './errors.ts';

export interface OriginalDestination {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

interface Addon {
  getOriginalDestination(fd: number): OriginalDestination;
  releaseFreeMemory(): boolean;
}

let addon: Addon | undefined;
let loadError: unknown;

function load(): Addon {
  if (addon) return addon;
  if (loadError !== undefined) throw new NativeAddonMissingError(loadError);
  try {
    const require = createRequire(import.meta.url);
    addon = require('./build/Release/meshlet_native.node') as Addon;
    return addon;
  } catch (err) {
    loadError = err;
    throw new NativeAddonMissingError(err);
  }
}

/** True when the addon is built and loadable (Linux after a successful `npm install`). */
export function nativeAddonAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/** The raw call: original destination of the socket behind `fd` (errors carry errno `code`). */
export function getOriginalDestination(fd: number): OriginalDestination {
  return load().getOriginalDestination(fd);
}

/**
 * Returns malloc's free pages to the kernel (glibc's malloc_trim(0)); true when some were given
 * back, false when none were, on another libc, or when the addon is not built (nothing to do
 * then: the memory stays with the process, as before). An agent calls it once its start has
 * settled (agent/lifecycle/startup-reclaim.ts, ADR 0012).
 */
export function releaseFreeMemory(): boolean {
  let a: Addon;
  try {
    a = load();
  } catch {
    return false;
  }
  // an addon built before this call existed (an older build directory)
  return typeof a.releaseFreeMemory === 'function' ? a.releaseFreeMemory() : false;
}

/**
 * Node has no public API for a socket's file descriptor. `socket._handle` is the libuv TCPWrap
 * and its `fd` getter (uv_fileno) has been there on Unix since Node 0.x; addons that need
 * socket options (this one, node-netfilter-style tools) rely on it. We read it defensively and
 * fail with a clear error if a future Node changes it, instead of passing garbage to C.
 */
export function socketFd(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  if (!handle) throw new SocketDescriptorError('the socket is closed (no handle)');
  const fd = handle.fd;
  if (typeof fd !== 'number' || fd < 0) throw new SocketDescriptorError(`handle has no descriptor (fd=${String(fd)})`);
  return fd;
}

function unmap(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * Where the peer originally connected to, for a socket accepted on a REDIRECT target port.
 * Throws NotRedirectedError when the connection was addressed to the listener itself (a direct
 * or explicitly proxied connection): callers such as explicit outbound mode catch exactly that.
 */
export function originalDestination(socket: Socket): OriginalDestination {
  const fd = socketFd(socket);
  const local = `${unmap(socket.localAddress ?? '?')}:${String(socket.localPort)}`;
  let dst: OriginalDestination;
  try {
    dst = getOriginalDestination(fd);
  } catch (err) {
    if (err instanceof NativeAddonMissingError) throw err;
    // ENOENT: conntrack holds no entry for this socket, which a REDIRECTed one always has.
    if ((err as { code?: unknown }).code === 'ENOENT') throw new NotRedirectedError(local, err);
    throw new OriginalDestinationError(err);
  }
  // Without NAT conntrack still tracks the connection once any nat rule exists in the namespace,
  // and then reports the untranslated tuple: the listener's own address.
  if (dst.port === socket.localPort && unmap(dst.address) === unmap(socket.localAddress ?? '')) {
    throw new NotRedirectedError(local);
  }
  return dst;
}

/**
 * The shape the sidecar's `originalDestination` hook wants: null when the connection was not
 * redirected (addressed to the listener itself, e.g. explicit mode), the destination otherwise.
 * Other failures (addon missing, conntrack unavailable) still throw: they are misconfiguration,
 * not a property of the connection, and should be logged rather than silently routed as direct.
 */
export function tryOriginalDestination(socket: Socket): OriginalDestination | null {
  try {
    return originalDestination(socket);
  } catch (err) {
    if (err instanceof NotRedirectedError) return null;
    throw err;
  }
}
