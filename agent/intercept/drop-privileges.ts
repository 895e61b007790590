// Run as root only as long as needed: the agent binds its ports, then becomes uid 1337, the uid
// `meshlet init` exempts from redirection. Without the drop its own upstream connections would
// be redirected back into itself.
import { PrivilegeDropError } from './errors.ts';

/**
 * Switches the whole process to `uid`/`gid` (gid defaults to uid, as for istio-proxy's 1337)
 * and clears supplementary groups. Order matters: groups and gid first, while still root.
 * A no-op when the process already runs as exactly that uid and gid.
 */
export function dropPrivileges(uid: number, gid: number = uid): void {
  if (!Number.isInteger(uid) || uid < 0 || !Number.isInteger(gid) || gid < 0) {
    throw new PrivilegeDropError(`invalid uid/gid ${uid}/${gid}`);
  }
  if (typeof process.setuid !== 'function' || typeof process.setgid !== 'function' || typeof process.getuid !== 'function') {
    throw new PrivilegeDropError(`cannot change uid on ${process.platform}`);
  }
  if (process.getuid() === uid && process.getgid?.() === gid) return;
  try {
    process.setgroups?.([gid]);
    process.setgid(gid);
    process.setuid(uid);
  } catch (err) {
    const who = process.getuid();
    throw new PrivilegeDropError(`cannot switch from uid ${who} to ${uid}:${gid} (${(err as Error).message}); only root can drop privileges`, err);
  }
  if (process.getuid() !== uid || process.geteuid?.() !== uid) {
    throw new PrivilegeDropError(`uid is ${process.getuid()} after setuid(${uid})`);
  }
}
