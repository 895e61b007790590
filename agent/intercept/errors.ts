// Errors of `meshlet init` and privilege dropping: one class per stable code (api/errors.ts).
import { MeshletError } from '../../api/errors.ts';

/** A flag or option is malformed (exit code 1 in the CLI). */
export class InitOptionsError extends MeshletError {
  constructor(message: string) {
    super('E_INIT_OPTIONS', message);
  }
}

/** No usable iptables binaries (neither nft nor legacy), or the requested variant is absent. */
export class IptablesUnavailableError extends MeshletError {
  constructor(message: string) {
    super('E_IPTABLES_UNAVAILABLE', message);
  }
}

/** iptables-save / iptables-restore failed; `stderr` carries the tool's own words. */
export class IptablesCommandError extends MeshletError {
  readonly stderr: string;
  constructor(command: string, stderr: string, cause?: unknown) {
    super('E_IPTABLES_COMMAND', `${command} failed: ${stderr.trim() || String(cause)}`, { cause });
    this.stderr = stderr;
  }
}

/** setuid/setgid refused (not root, or the uid does not exist in this user namespace). */
export class PrivilegeDropError extends MeshletError {
  constructor(message: string, cause?: unknown) {
    super('E_PRIVILEGE_DROP', message, { cause });
  }
}
