// File mode looks for Secret meshlet-system/meshlet-ca as text before it parses any YAML (ADR
// 0012): a directory that cannot hold it is answered without the parser, and every spelling the
// parser would accept, escapes included, still reaches it and issues a certificate.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateRoot } from '../controller/identity/index.ts';
import { fileModeCertificates, mayHoldCaSecret } from './file-identity.ts';

const dirs: string[] = [];
after(async () => { await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))); });

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-file-identity-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

const service = 'apiVersion: v1\nkind: Service\nmetadata: { name: echo, namespace: bench }\nspec: { ports: [{ port: 80 }] }\n';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function caSecret(nameAs: string): string {
  const ca = generateRoot({ now: new Date(), trustDomain: 'cluster.local' });
  return `apiVersion: v1\nkind: Secret\nmetadata: { name: ${nameAs}, namespace: meshlet-system }\ntype: kubernetes.io/tls\n` +
    `data: { ca.crt: ${b64(ca.caPem)}, tls.crt: ${b64(ca.certPem)}, tls.key: ${b64(ca.keyPem)} }\n`;
}

test('mayHoldCaSecret: only a file naming meshlet-ca, or with an escape that could spell it, needs the parser', async () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['an empty directory', {}, false],
    ['Services and routes only', { 'a.yaml': service, 'sub/b.json': JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } }) }, false],
    ['another Secret', { 'a.yaml': service.replace('kind: Service', 'kind: Secret') }, false],
    ['the name in a plain scalar', { 'a.yaml': service, 'ca.yaml': 'kind: Secret\nmetadata: { name: meshlet-ca }\n' }, true],
    ['the name in a nested directory', { 'x/y/ca.yml': 'metadata:\n  name: "meshlet-ca"\n' }, true],
    ['the name written with a double-quoted escape', { 'ca.yaml': 'metadata: { name: "meshlet\\x2dca" }\n' }, true],
    ['the name written with a JSON escape', { 'ca.json': '{"metadata":{"name":"meshlet\\u002dca"}}' }, true],
    ['a file that is not a manifest (not read)', { 'notes.txt': 'meshlet-ca' }, false],
    ['a dotfile (not read)', { '.ca.yaml': 'name: meshlet-ca' }, false],
  ];
  for (const [name, files, want] of cases) assert.equal(await mayHoldCaSecret(await dirWith(files)), want, name);
});

test('mayHoldCaSecret rejects, as readManifests does, when the directory cannot be read', async () => {
  await assert.rejects(mayHoldCaSecret(join(tmpdir(), 'meshlet-file-identity-missing', String(process.pid))), /ENOENT/);
});

test('fileModeCertificates issues from a CA Secret whose name is spelled with an escape, and is null without one', async () => {
  assert.equal(await fileModeCertificates(await dirWith({ 'a.yaml': service }), 'bench', 'echo', () => undefined), null);
  const manager = await fileModeCertificates(await dirWith({ 'a.yaml': service, 'ca.yaml': caSecret('"meshlet\\x2dca"') }), 'bench', 'echo', () => undefined);
  assert.ok(manager, 'the escaped name still reached the parser');
  try {
    assert.match(manager.current()?.spiffeId ?? '', /\/ns\/bench\/sa\/echo$/);
  } finally {
    await manager.stop();
  }
});
