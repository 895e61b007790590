// Smoke test of the JavaScript build: what the image and a production install run is dist/, not
// the TypeScript sources, so a specifier the compiler did not rewrite, a runtime import of a
// devDependency or a file missing from the build shows up here rather than on a cluster.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { COMMANDS } from '../../cli/main.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let out = '';

before(async () => {
  out = await mkdtemp(join(tmpdir(), 'meshlet-build-'));
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], { cwd: ROOT, timeout: 120_000 });
  // The same links `npm run build` makes: the addon node-gyp built at install, and the examples.
  await symlink(join(ROOT, 'agent/native/build'), join(out, 'agent/native/build'));
  await symlink(join(ROOT, 'examples'), join(out, 'examples'));
  // Outside the checkout the build resolves packages as an installed copy does: its own
  // package.json (ES modules) and a node_modules beside it.
  await writeFile(join(out, 'package.json'), JSON.stringify({ type: 'module' }));
  await symlink(join(ROOT, 'node_modules'), join(out, 'node_modules'));
});
after(async () => { if (out) await rm(out, { recursive: true, force: true }); });

async function jsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && !e.parentPath.includes('node_modules') && e.name.endsWith('.js')).map((e) => join(e.parentPath, e.name));
}

function meshlet(...args: string[]) {
  return run(process.execPath, [join(out, 'bin/meshlet.js'), ...args], { cwd: ROOT, timeout: 30_000 });
}

test('the build has no test files and no .ts specifier left', async () => {
  const files = await jsFiles(out);
  assert.ok(files.length > 100, `only ${files.length} files built`);
  assert.deepEqual(files.filter((f) => f.endsWith('.test.js')), []);
  const leftover: string[] = [];
  for (const f of files) {
    if (/(from|import\(|new URL\()\s*['"`]\.{1,2}\/[^'"`]*\.ts['"`]/.test(await readFile(f, 'utf8'))) leftover.push(f);
  }
  assert.deepEqual(leftover, []);
});

test('the build imports only Node built-ins and production dependencies', async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const allowed = new Set(Object.keys(pkg.dependencies));
  const bad = new Set<string>();
  for (const f of await jsFiles(out)) {
    // Static imports/re-exports open a line; dynamic ones are import('literal').
    for (const m of (await readFile(f, 'utf8')).matchAll(/^(?:(?:import|export)\b[^'"\n]*?\bfrom\s*|import\s*)['"]([^'"./][^'"\s]*)['"]|\bimport\(['"]([^'"./][^'"\s]*)['"]\)/gm)) {
      const spec = m[1] ?? m[2] ?? '';
      if (spec.startsWith('node:')) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0] ?? spec;
      if (!allowed.has(name)) bad.add(`${name} (${f.slice(out.length)})`);
    }
  }
  assert.deepEqual([...bad], []);
});

test('every subcommand answers --help from the built output', async () => {
  const top = await meshlet('--help');
  for (const c of COMMANDS) {
    assert.match(top.stdout, new RegExp(`\\b${c.name}\\b`));
    const { stdout } = await meshlet(c.name, '--help');
    assert.match(stdout, /Usage|usage/, `${c.name} --help printed: ${stdout.slice(0, 200)}`);
  }
});

test('an agent in file mode (its translation runs in a worker thread) becomes ready from the built output', async () => {
  const admin = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
  });
  const child = spawn(process.execPath, [join(out, 'bin/meshlet.js'), 'agent', '--config', join(ROOT, 'examples'), '--namespace', 'default', '--host', '127.0.0.1', '--outbound-port', '0', '--inbound-port', '0', '--admin-port', String(admin)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  try {
    let status = 0;
    for (let i = 0, end = Date.now() + 30_000; i < 300 && Date.now() < end && status !== 200 && child.exitCode === null; i++) {
      status = await fetch(`http://127.0.0.1:${admin}/ready`).then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, `the built agent never became ready: ${output.slice(-1500)}`);
  } finally {
    child.kill('SIGTERM');
  }
});

test('the image\'s `meshlet` command (the Dockerfile\'s /out/meshlet, node by absolute path) runs the build with its arguments', async () => {
  // The script as the Dockerfile writes it, with this machine's node and build in place of the
  // image's paths; executed directly, so the kernel reads its interpreter line (no shell, no env).
  const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  const script = (/printf '([^']*)' > \/out\/meshlet/.exec(dockerfile)?.[1] ?? '').replace(/\\n/g, '\n')
    .replace('#!/nodejs/bin/node', `#!${process.execPath}`).replace('/opt/meshlet/dist/', `${out}/`);
  assert.match(script, /^#!\//);
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-bin-'));
  try {
    await writeFile(join(dir, 'meshlet'), script, { mode: 0o755 });
    const { stdout } = await run(join(dir, 'meshlet'), ['version'], { cwd: dir, timeout: 30_000 });
    assert.match(stdout, /\d+\.\d+\.\d+/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('translate -f examples/ runs from the built output', async () => {
  const { stdout } = await meshlet('translate', '-f', join(ROOT, 'examples'));
  assert.match(stdout, /kind: (HTTPRoute|Gateway)/);
  assert.match(stdout, /Accepted/);
});
