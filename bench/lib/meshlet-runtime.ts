// Which meshlet the benchmark runs. By default the built JavaScript, as the image runs it
// (Dockerfile: `npm run build`, then `node dist/bin/meshlet.js`): the tree is compiled once per
// run with `tsc -p tsconfig.build.json` into the run's scratch directory, so the figures are of
// the code users run and never of a stale dist/. Running the TypeScript sources instead
// (bin/meshlet.js, Node's type stripper) costs ~20 MB of RSS per process and start-up CPU that
// no user pays (ADR 0021); MESHLET_BENCH_RUNTIME=sources still measures them, e.g. to compare.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type RuntimeKind = 'built' | 'sources';

export interface MeshletRuntime {
  kind: RuntimeKind;
  /** The file node runs: <build>/bin/meshlet.js or <root>/bin/meshlet.js. */
  entry: string;
  /** One line for the log and reports: which runtime, and how it was made. */
  note: string;
}

export type RuntimeOutcome = { ok: true; runtime: MeshletRuntime } | { ok: false; reason: string };

/** MESHLET_BENCH_RUNTIME: `built` (default) or `sources`; anything else is an error, not a guess. */
export function runtimeKindFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeKind {
  const v = (env.MESHLET_BENCH_RUNTIME ?? '').trim().toLowerCase();
  if (v === '' || v === 'built') return 'built';
  if (v === 'sources') return 'sources';
  throw new Error(`MESHLET_BENCH_RUNTIME=${env.MESHLET_BENCH_RUNTIME}: expected "built" (the default) or "sources"`);
}

/**
 * Compiles `root` into `out` as `npm run build` does (same tsconfig), and lays the output out as
 * an installed copy: the addon and the examples linked in, a package.json making the .js files
 * ES modules, and the checkout's node_modules beside it for bare specifiers. `--noCheck`: the
 * tree is compiled file by file (isolatedModules, erasableSyntaxOnly), so the JavaScript is the
 * same with or without the type check, which is `tsc`'s and the tests' job, not the bench's; it
 * halves the build's CPU and lets a tree with a type error in progress be measured, as the
 * sources run would be. A syntax error still fails the build.
 */
export function buildMeshlet(root: string, out: string, timeoutMs = 300_000): RuntimeOutcome {
  const t0 = Date.now();
  mkdirSync(out, { recursive: true });
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--noCheck', '--outDir', out],
    { cwd: root, encoding: 'utf8', timeout: timeoutMs });
  const entry = join(out, 'bin', 'meshlet.js');
  if (tsc.status !== 0 || !existsSync(entry)) {
    const why = `${tsc.stdout ?? ''}${tsc.stderr ?? ''}`.trim().split('\n').slice(0, 3).join(' | ') || String(tsc.error ?? tsc.signal);
    return { ok: false, reason: `the build (tsc -p tsconfig.build.json) failed, exit ${tsc.status ?? tsc.signal}: ${why.slice(0, 400)} (MESHLET_BENCH_RUNTIME=sources runs the sources)` };
  }
  symlinkSync(join(root, 'agent', 'native', 'build'), join(out, 'agent', 'native', 'build'));
  symlinkSync(join(root, 'examples'), join(out, 'examples'));
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
  const s = ((Date.now() - t0) / 1000).toFixed(0);
  return { ok: true, runtime: { kind: 'built', entry, note: `built JavaScript (tsc -p tsconfig.build.json --noCheck into the run's scratch directory, ${s} s), as the image runs it` } };
}

const cache = new Map<string, RuntimeOutcome>();

/**
 * The runtime for this process's run, made once: every configuration of a run measures the same
 * build. `scratch` is the run's directory (removed with it).
 */
export function meshletRuntime(root: string, scratch: string, log: (line: string) => void = (l) => { process.stdout.write(`${l}\n`); }): RuntimeOutcome {
  const key = `${root}\0${scratch}`;
  const known = cache.get(key);
  if (known) return known;
  let outcome: RuntimeOutcome;
  try {
    outcome = runtimeKindFromEnv() === 'sources'
      ? { ok: true, runtime: { kind: 'sources', entry: join(root, 'bin', 'meshlet.js'), note: 'TypeScript sources (bin/meshlet.js, Node\'s type stripping; MESHLET_BENCH_RUNTIME=sources)' } }
      : buildMeshlet(root, join(scratch, 'meshlet-build'));
  } catch (e) {
    outcome = { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  log(outcome.ok ? `meshlet runtime: ${outcome.runtime.note}` : `meshlet runtime not available: ${outcome.reason}`);
  cache.set(key, outcome);
  return outcome;
}
