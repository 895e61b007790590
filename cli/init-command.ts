// `meshlet init`: the init container. Programs the pod's network namespace so the app's TCP
// traffic goes through the agent (istio-init's job), idempotently. Flags and rules live in
// agent/intercept; this file only adapts them to the CLI's conventions.
import { INIT_HELP, InitOptionsError, parseInitArgs, runInit } from '../agent/intercept/index.ts';
import type { Command } from './command.ts';
import { UsageError } from './usage-error.ts';

export const initCommand: Command = {
  name: 'init',
  summary: 'program iptables so the pod\'s traffic goes through the agent',
  help: INIT_HELP,
  async run(argv, io) {
    let parsed;
    try {
      parsed = parseInitArgs(argv);
    } catch (err) {
      if (err instanceof InitOptionsError) throw new UsageError(err.message);
      throw err;
    }
    if (parsed.help) {
      io.stdout.write(INIT_HELP);
      return 0;
    }
    try {
      // runInit reports what it did (or, with --dry-run, the rules) on stdout itself.
      await runInit(parsed.options);
    } catch (err) {
      if (err instanceof InitOptionsError) throw new UsageError(err.message);
      throw err;
    }
    return 0;
  },
};
