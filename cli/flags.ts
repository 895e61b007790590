// Flag parsing and the serve-until-stopped loop shared by the long-running commands (agent,
// ingress, controller, dev). Deliberately free of proxy or Kubernetes imports, so a command
// that uses it loads nothing it does not run.
import { existsSync } from 'node:fs';
import { LogConfigError, processLogger, type Logger } from '../common/logger.ts';
import type { Io } from './command.ts';
import { UsageError } from './usage-error.ts';

export function portFlag(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name} wants a port number, got '${value}'`);
  return n;
}

export function countFlag(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} wants a whole number, got '${value}'`);
  return n;
}

/** `--drain-seconds N` in milliseconds. */
export function drainFlag(value: string): number {
  const ms = Number(value) * 1000;
  if (!Number.isFinite(ms) || ms < 0) throw new UsageError(`--drain-seconds wants a number, got '${value}'`);
  return ms;
}

/**
 * `--startup-reclaim-seconds N` in milliseconds (agent and ingress, ADR 0023): unset keeps
 * `fallback` (STARTUP_RECLAIM_MS, past the controller client's decoder's 30 s let-go); 0 turns
 * the reclaim off; a shorter delay lets a test see it in seconds, and the bench's instruction
 * counts start without it (its one large collection would land in a counted window).
 */
export function startupReclaimFlag(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = Number(value) * 1000;
  if (value.trim() === '' || !Number.isFinite(ms) || ms < 0) throw new UsageError(`--startup-reclaim-seconds wants a number of seconds, got '${value}'`);
  return ms;
}

/**
 * A timeout in seconds from a flag or, failing that, its environment variable, in milliseconds;
 * 0 turns it off, unset keeps the default (undefined). A bad flag is a usage error: someone just
 * typed it. A bad variable is the mesh config's runtime channel (the injector sets it on every
 * sidecar): with `warn` it is reported, naming the variable, and the default is kept, because a
 * sidecar that refuses to start holds its whole pod back.
 */
function timeoutSeconds(flagName: string, envName: string, what: string, flag: string | undefined, env: string | undefined, warn?: (msg: string) => void): number | undefined {
  const value = flag ?? (env === '' ? undefined : env);
  if (value === undefined) return undefined;
  const ms = Number(value) * 1000;
  if (value.trim() !== '' && Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const complaint = `wants a number of seconds (0: no ${what}), got '${value}'`;
  if (flag === undefined && warn) {
    warn(`${envName} ${complaint}; keeping the default`);
    return undefined;
  }
  throw new UsageError(`${flag !== undefined ? flagName : envName} ${complaint}`);
}

/**
 * `--default-request-timeout SECONDS` (or $MESHLET_DEFAULT_REQUEST_TIMEOUT) in milliseconds:
 * the request timeout of routes that set none (ADR 0006); 0 turns it off, unset keeps the default.
 */
export function defaultRequestTimeoutFlag(flag: string | undefined, env: string | undefined, warn?: (msg: string) => void): number | undefined {
  return timeoutSeconds('--default-request-timeout', 'MESHLET_DEFAULT_REQUEST_TIMEOUT', 'default timeout', flag, env, warn);
}

/**
 * `--stream-idle-timeout SECONDS` (or $MESHLET_STREAM_IDLE_TIMEOUT) in milliseconds: how long
 * an exchange may move no byte either way (issue 15, stream-idle.ts); 0 turns it off.
 */
export function streamIdleTimeoutFlag(flag: string | undefined, env: string | undefined, warn?: (msg: string) => void): number | undefined {
  return timeoutSeconds('--stream-idle-timeout', 'MESHLET_STREAM_IDLE_TIMEOUT', 'stream idle timeout', flag, env, warn);
}

/**
 * `--h1-fast` / `--no-h1-fast` (issue 16, ADR 0017): HTTP/1.1 on the fast path. Unset (neither
 * flag) leaves it to $MESHLET_H1_FAST, read where the listener starts: on unless it is `0`.
 */
export function h1FastFlag(values: { 'h1-fast'?: boolean; 'no-h1-fast'?: boolean }): boolean | undefined {
  if (values['h1-fast'] && values['no-h1-fast']) throw new UsageError('--h1-fast and --no-h1-fast contradict each other: give one');
  if (values['no-h1-fast']) return false;
  return values['h1-fast'] ? true : undefined;
}

export const H1_FAST_OPTIONS = {
  'h1-fast': { type: 'boolean' },
  'no-h1-fast': { type: 'boolean' },
} as const;

/** The help lines of `--no-h1-fast`, its text starting at `column` as the command's other flags do. */
export function h1FastHelp(column: number): string {
  const pad = ' '.repeat(column);
  return `${'  --no-h1-fast'.padEnd(column)}serve HTTP/1.1 on node:http only, not on the fast path (raw sockets +
${pad}llhttp, ADR 0017; requests it does not take go to node:http anyway)
${pad}(default: fast path on; $MESHLET_H1_FAST=0 turns it off)`;
}

export const STREAM_IDLE_TIMEOUT_HELP = `  --stream-idle-timeout S  end a request whose body and response move no byte for S seconds
                        (408 before the response, else reset; default 300; 0: none)
                        (default: $MESHLET_STREAM_IDLE_TIMEOUT)`;

export const DEFAULT_REQUEST_TIMEOUT_HELP = `  --default-request-timeout S  routes without a timeout answer 504 when the backend has not
                        begun its response S seconds after the request ended (default 15;
                        0: none; gRPC is exempt) (default: $MESHLET_DEFAULT_REQUEST_TIMEOUT)`;

/** `::` accepts IPv4 and IPv6 on Linux; ip6tables-redirected connections need it. */
export function defaultBindHost(): string {
  return existsSync('/proc/net/if_inet6') ? '::' : '0.0.0.0';
}

export interface Drainable {
  /** Stops accepting and waits for in-flight work up to the deadline; true if all finished. */
  drain(deadlineMs: number): Promise<boolean>;
}

/** Waits for Ctrl-C/SIGTERM, drains, runs `cleanup`, and returns the exit code (0). */
export async function serveUntilStopped(io: Io, log: (line: string) => void, server: Drainable, drainMs: number, cleanup: () => void | Promise<void>): Promise<number> {
  const signal = await io.stopSignal;
  log(`${signal}: draining (up to ${drainMs} ms)`);
  const clean = await server.drain(drainMs);
  await cleanup();
  log(clean ? 'drained' : 'drain deadline reached; remaining connections closed');
  return 0;
}

/** `--log-level` and `--log-format`, taken by every long-running command. */
export const LOG_OPTIONS = {
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
} as const;

export const LOG_HELP = `  --log-level LEVEL     error, warn, info (default) or debug (default: $MESHLET_LOG_LEVEL)
  --log-format FORMAT   text (default) or json, one object per line (default: $MESHLET_LOG_FORMAT)`;

/** The command's logger, writing to its standard error; a bad level or format is a usage error. */
export function commandLogger(component: string, values: { 'log-level'?: string; 'log-format'?: string }, io: Io): Logger {
  try {
    return processLogger(component, { level: values['log-level'], format: values['log-format'] }, process.env, (line) => void io.stderr.write(line));
  } catch (err) {
    if (err instanceof LogConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** Flags every proxy command (agent, ingress) takes: where tables come from, who it is, drain. */
export const PROXY_SOURCE_OPTIONS = {
  'config': { type: 'string' },
  'controller': { type: 'string' },
  'token-file': { type: 'string' },
  'pod': { type: 'string' },
  'namespace': { type: 'string' },
  'admin-port': { type: 'string' },
  'drain-seconds': { type: 'string', default: '20' },
} as const;

/** Exactly one table source; a token only makes sense with a controller. Returns the namespace. */
export function checkProxySource(values: { config?: string; controller?: string; 'token-file'?: string; namespace?: string }): string {
  if (!values.config === !values.controller) throw new UsageError('give exactly one of --config DIR and --controller URL');
  if (values['token-file'] !== undefined && !values.controller) throw new UsageError('--token-file goes with --controller URL');
  return values.namespace ?? process.env.POD_NAMESPACE ?? 'default';
}
