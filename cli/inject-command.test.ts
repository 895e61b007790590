import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';
import { INJECTOR_CASES_DIR, injectorCases, parseGolden } from '../test/support/injector-goldens.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(['inject', ...args], io);
  return { code, out: io.out(), err: io.err() };
}

describe('meshlet inject prints what the goldens hold', () => {
  for (const c of injectorCases()) {
    test(c.name, async () => {
      const golden = parseGolden(await readFile(c.outFile, 'utf8'));
      const r = await run(['-f', c.inFile, ...(c.meshFile ? ['--mesh-config', c.meshFile] : [])]);
      assert.equal(r.code, golden.exit, r.err);
      assert.equal(r.out, golden.stdout);
      const stderr = r.err.split('\n').filter((l) => l !== '' && !l.startsWith('meshlet inject: '));
      assert.deepEqual(stderr, golden.stderr);
    });
  }
});

test('reads standard input with -f - (through the real binary)', async () => {
  const input = await readFile(join(INJECTOR_CASES_DIR, 'plain-pod.in.yaml'), 'utf8');
  const golden = parseGolden(await readFile(join(INJECTOR_CASES_DIR, 'plain-pod.out.yaml'), 'utf8'));
  const child = spawn(process.execPath, ['bin/meshlet.js', 'inject', '-f', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  assert.equal(out, golden.stdout);
});

test('a document that does not parse: nothing printed, the document named, exit 1', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-inject-'));
  try {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, `${await readFile(join(INJECTOR_CASES_DIR, 'plain-pod.in.yaml'), 'utf8')}---\nkind: [unclosed\n`);
    const r = await run(['-f', file]);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.match(r.err, /error: document 2: /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an invalid mesh config or a missing file is a user error (exit 1) naming it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-inject-'));
  try {
    const mesh = join(dir, 'mesh.yaml');
    await writeFile(mesh, 'sidecarMode: sideways\n');
    const pod = join(INJECTOR_CASES_DIR, 'plain-pod.in.yaml');
    const bad = await run(['-f', pod, '--mesh-config', mesh]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--mesh-config .*sidecarMode must be one of native\|legacy/);
    await writeFile(mesh, 'imagee: x\n');
    assert.match((await run(['-f', pod, '--mesh-config', mesh])).err, /unknown key 'imagee'/);
    const missing = await run(['-f', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /cannot read .*nope\.yaml: no such file/);
    assert.equal((await run([])).code, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the output is valid YAML that kubectl (YAML 1.1) reads with string env values', async () => {
  const r = await run(['-f', join(INJECTOR_CASES_DIR, 'plain-pod.in.yaml')]); // access log 'off'
  const [doc] = parseAllDocuments(r.out, { version: '1.1' });
  const pod = doc!.toJS() as { spec: { initContainers: { name: string; env?: { name: string; value?: unknown }[] }[] } };
  const env = pod.spec.initContainers.find((c) => c.name === 'meshlet-proxy')!.env!;
  for (const e of env) if ('value' in e) assert.equal(typeof e.value, 'string', e.name);
});

test('--help', async () => {
  const io = captureIo();
  assert.equal(await main(['inject', '--help'], io), 0);
  assert.match(io.out(), /Usage: meshlet inject -f FILE\|-/);
});
