// `meshlet inject`: the webhook's injection as a command (like `istioctl kube-inject`), for
// GitOps pipelines, clusters without the webhook, and seeing what the webhook would do. Same
// inject() and the same golden files as the webhook. Nothing is printed when any document
// fails: a pipe into `kubectl apply` gets all the manifests injected or none of them.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { MeshletError } from '../api/errors.ts';
import { resolveMeshConfig, type MeshConfig } from '../injector/inject/index.ts';
import { injectManifests } from '../injector/manifests.ts';
import type { Command } from './command.ts';
import { UsageError } from './usage-error.ts';

const HELP = `Usage: meshlet inject -f FILE|- [--mesh-config FILE]

Prints the manifests in FILE (multi-document YAML; '-' reads standard input) with the meshlet
sidecar injected, exactly as the admission webhook would inject their pods: Pods, Deployments,
StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and Lists of them. Other kinds, and pods
that are not injected (opted out, hostNetwork, kube-system, another mesh's), are written back
unchanged; why is said on stderr. Injecting injected manifests re-renders them.

Flags:
  -f, --filename FILE      manifests to read, or '-' for standard input (required)
      --mesh-config FILE   YAML overrides of the mesh config, e.g.
                             image: registry.example/meshlet:0.1.0
                             controllerAddress: wss://meshlet-controller.meshlet-system.svc:15012
                             sidecarMode: legacy        # nodes older than Kubernetes 1.29
                           (keys and defaults: docs/injection.md)

Example:
  meshlet inject -f deploy.yaml | kubectl apply -f -

Exit codes: 0 ok; 1 bad flags, unreadable input, a document that does not parse or an invalid
meshlet.dev annotation (then nothing is printed); 2 internal error.
`;

async function readInput(path: string): Promise<string> {
  try {
    if (path !== '-') return await readFile(path, 'utf8');
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
}

export async function meshConfig(path: string | undefined): Promise<MeshConfig> {
  try {
    return resolveMeshConfig(path === undefined ? {} : parse(await readInput(path)) as unknown);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err instanceof MeshletError || (err as Error).name === 'YAMLParseError') throw new UsageError(`--mesh-config ${path ?? ''}: ${(err as Error).message}`);
    throw err;
  }
}

export const injectCommand: Command = {
  name: 'inject',
  summary: 'print manifests with the meshlet sidecar injected, as the webhook would',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        'filename': { type: 'string', short: 'f' },
        'mesh-config': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (!values.filename) throw new UsageError('-f FILE is required (a manifest file, or - for standard input)');
    if (values.filename === '-' && values['mesh-config'] === '-') throw new UsageError('standard input can hold the manifests or the mesh config, not both');
    const mesh = await meshConfig(values['mesh-config']);
    const result = injectManifests(await readInput(values.filename), mesh);
    for (const e of result.errors) io.stderr.write(`error: ${e}\n`);
    for (const m of result.messages) io.stderr.write(`${m}\n`);
    if (result.errors.length > 0) {
      io.stderr.write(`meshlet inject: ${result.errors.length} error(s); nothing printed\n`);
      return 1;
    }
    io.stdout.write(result.text);
    return 0;
  },
};
