// The injector's golden cases (test/golden/injector/cases), shared by the three tests that read
// them: inject() itself, `meshlet inject` and the webhook. `<case>.in.yaml` holds manifests,
// the optional `<case>.mesh.yaml` mesh-config overrides, and `<case>.out.yaml` what
// `meshlet inject -f <case>.in.yaml [--mesh-config <case>.mesh.yaml]` prints, below a header of
// `# meshlet inject: ` lines giving its exit code and stderr.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { resolveMeshConfig, type MeshConfig } from '../../injector/inject/index.ts';
import { injectManifests } from '../../injector/manifests.ts';

export const INJECTOR_CASES_DIR = fileURLToPath(new URL('../golden/injector/cases/', import.meta.url));
const HEADER = '# meshlet inject: ';

export interface InjectorCase {
  name: string;
  inFile: string;
  outFile: string;
  meshFile: string | null;
  mesh: MeshConfig;
}

export function injectorCases(): InjectorCase[] {
  return readdirSync(INJECTOR_CASES_DIR).filter((f) => f.endsWith('.in.yaml')).sort().map((f) => {
    const name = f.slice(0, -'.in.yaml'.length);
    const meshFile = join(INJECTOR_CASES_DIR, `${name}.mesh.yaml`);
    const hasMesh = existsSync(meshFile);
    return {
      name,
      inFile: join(INJECTOR_CASES_DIR, f),
      outFile: join(INJECTOR_CASES_DIR, `${name}.out.yaml`),
      meshFile: hasMesh ? meshFile : null,
      mesh: resolveMeshConfig(hasMesh ? parse(readFileSync(meshFile, 'utf8')) as unknown : {}),
    };
  });
}

export interface GoldenOutput {
  exit: number;
  stderr: string[];
  stdout: string;
}

/** The .out.yaml text for a case, computed from the manifests. */
export function renderGolden(c: InjectorCase): string {
  const r = injectManifests(readFileSync(c.inFile, 'utf8'), c.mesh);
  const cmd = `meshlet inject -f ${c.name}.in.yaml${c.meshFile ? ` --mesh-config ${c.name}.mesh.yaml` : ''}`;
  const header = [
    `written by test/golden/injector/golden.test.ts with UPDATE_GOLDEN=1: what \`${cmd}\` prints`,
    `exit ${r.errors.length > 0 ? 1 : 0}`,
    ...[...r.errors.map((e) => `error: ${e}`), ...r.messages].map((l) => `stderr: ${l}`),
  ];
  return header.map((l) => `${HEADER}${l}\n`).join('') + r.text;
}

export function parseGolden(text: string): GoldenOutput {
  const lines = text.split('\n');
  let i = 0;
  const out: GoldenOutput = { exit: 0, stderr: [], stdout: '' };
  for (; i < lines.length && lines[i]!.startsWith(HEADER); i++) {
    const l = lines[i]!.slice(HEADER.length);
    if (l.startsWith('exit ')) out.exit = Number(l.slice(5));
    else if (l.startsWith('stderr: ')) out.stderr.push(l.slice(8));
  }
  out.stdout = lines.slice(i).join('\n');
  return out;
}
