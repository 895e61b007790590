// The `meshlet` binary as a child process, for tests of the commands as users run them: its
// stdout and stderr collected into one text (for assertions and failure messages), its exit
// awaited, and a stop that asks politely (SIGTERM) and insists (SIGKILL) after 5 s.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const MESHLET_BIN = path.join(import.meta.dirname, '../../bin/meshlet.js');

export interface MeshletProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output: () => string;
  /** The exit code (null when a signal ended it). */
  exit: Promise<number | null>;
}

/** Starts `meshlet ...args` with the test's own Node; `env` adds to the inherited environment. */
export function runMeshlet(args: string[], env: Record<string, string> = {}): MeshletProcess {
  const child = spawn(process.execPath, [MESHLET_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s; resolves once it has exited. */
export async function stopMeshlet(p: MeshletProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
  await p.exit;
  clearTimeout(timer);
}
