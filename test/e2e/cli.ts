// The real `meshlet` binary as the e2e suite runs it inside pod namespaces, and a look at the
// identity a process ended up with (the agent must run as uid 1337 after binding).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { forAnyUser } from '../support/any-user-path.ts';

// Reachable by uid 1337 wherever the checkout lives (see any-user-path.ts).
export const NODE = forAnyUser(process.execPath);
export const MESHLET = forAnyUser(fileURLToPath(new URL('../../bin/meshlet.js', import.meta.url)));

/** argv for `meshlet <args>` with the Node that runs the tests (Node 24, type stripping). */
export const meshlet = (...args: string[]): string[] => [NODE, MESHLET, ...args];

/** The real uid and gid of a running process (from /proc). */
export function idsOf(pid: number): { uid: number; gid: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { uid: field('Uid'), gid: field('Gid') };
}

/** The sidecar as the injector would start it in a meshed pod. */
export const agentArgs = (configDir: string, namespace: string): string[] =>
  meshlet('agent', '--config', configDir, '--namespace', namespace, '--uid', '1337', '--host', '::');
