// What every subcommand looks like to the dispatcher: a name, a one-line summary for `meshlet
// --help`, its own help text, and run(). Output goes through Io so tests capture it.
import type { Writable } from 'node:stream';

export interface Io {
  stdout: Writable;
  stderr: Writable;
  /** Resolves when the user asks a long-running command to stop (Ctrl-C, SIGTERM). */
  stopSignal: Promise<string>;
}

export interface Command {
  name: string;
  summary: string;
  help: string;
  /** Returns the exit code (0 ok, 1 user error); throwing UsageError/InputError also means 1. */
  run(argv: string[], io: Io): Promise<number>;
}
