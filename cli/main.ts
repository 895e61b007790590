// The `meshlet` binary: one dispatcher over subcommands, each in its own file. Exit codes are a
// contract for scripts: 0 success, 1 the user's input or flags are wrong, 2 meshlet failed.
//
// Subcommands are loaded on demand: a sidecar must not pay (in memory and start-up time) for the
// Kubernetes client the controller loads, nor the controller for the proxy. The registry holds
// only names and one-line summaries.
import { ListenFailedError, MeshletError } from '../api/errors.ts';
import type { Command, Io } from './command.ts';
import { InputError, UsageError } from './usage-error.ts';

interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'dev', summary: 'run a whole local mesh on loopback from examples/ (or DIR)', load: async () => (await import('./dev/dev-command.ts')).devCommand },
  { name: 'translate', summary: 'print the status and routing table meshlet computes for manifests', load: async () => (await import('./translate-command.ts')).translateCommand },
  { name: 'explain', summary: 'show which rule a request hits, its filters and its backends', load: async () => (await import('./explain-command.ts')).explainCommand },
  { name: 'agent', summary: 'run the sidecar proxy (--config DIR or --controller URL)', load: async () => (await import('./agent-command.ts')).agentCommand },
  { name: 'ingress', summary: 'run the shared ingress for Gateways (--config DIR or --controller URL)', load: async () => (await import('./ingress-command.ts')).ingressCommand },
  { name: 'init', summary: 'program iptables so the pod\'s traffic goes through the agent', load: async () => (await import('./init-command.ts')).initCommand },
  { name: 'controller', summary: 'run the control plane against a Kubernetes API server', load: async () => (await import('./controller-command.ts')).controllerCommand },
  { name: 'inject', summary: 'print manifests with the meshlet sidecar injected, as the webhook would', load: async () => (await import('./inject-command.ts')).injectCommand },
  { name: 'wait', summary: 'wait until the agent is ready (the legacy-mode postStart hook)', load: async () => (await import('./wait-command.ts')).waitCommand },
  { name: 'check', summary: 'check a cluster before (--pre) and after installing meshlet', load: async () => (await import('./check-command.ts')).checkCommand },
];

/** Roadmap subcommands that do not exist yet: said plainly instead of "unknown command". */
const PLANNED: Record<string, string> = {};

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'meshlet: a Gateway API service mesh (GAMMA sidecars + shared ingress).',
    '',
    'Usage: meshlet <command> [flags]      meshlet <command> --help',
    '',
    'Commands:',
    ...lines,
    '',
    'Exit codes: 0 ok, 1 invalid input or flags, 2 internal error.',
    'Docs: README.md and docs/ in the meshlet repository.',
    '',
  ].join('\n');
}

function defaultIo(): Io {
  const stopSignal = new Promise<string>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve(sig));
  });
  return { stdout: process.stdout, stderr: process.stderr, stopSignal };
}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const entry = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(entry ? (await entry.load()).help : topHelp());
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === 'version') {
    io.stdout.write('meshlet 0.1.0\n');
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    const planned = PLANNED[name];
    io.stderr.write(planned
      ? `meshlet: '${name}' is not available yet: ${planned}.\n`
      : `meshlet: unknown command '${name}'. Run 'meshlet --help'.\n`);
    return 1;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (thrown) {
    // node:util parseArgs reports unknown or malformed flags as ERR_PARSE_ARGS_* TypeErrors.
    const err = (thrown as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS') ? new UsageError((thrown as Error).message) : thrown;
    if (err instanceof UsageError || err instanceof InputError) {
      io.stderr.write(`meshlet ${name}: ${err.message}\n`);
      if (err instanceof UsageError) io.stderr.write(`Run 'meshlet ${name} --help'.\n`);
      return 1;
    }
    if (err instanceof ListenFailedError) {
      // Not our bug and not the user's flags: the environment. Said plainly, exit 2.
      io.stderr.write(`meshlet ${name}: ${err.message}\n`);
      return 2;
    }
    const code = err instanceof MeshletError ? ` [${err.code}]` : '';
    io.stderr.write(`meshlet ${name}: internal error${code}: ${(err as Error).stack ?? String(err)}\n`);
    return 2;
  }
}
