import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, symlink, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseManifests, readManifests } from './read-manifests.ts';

test('a broken document is reported by file and index, and the documents around it still load', () => {
  const text = [
    'apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x}',
    'apiVersion: v1\nkind: Service\nmetadata: {name: b\n  bad: [',
    'apiVersion: v1\nkind: Service\nmetadata: {name: c}',
  ].join('\n---\n');
  const { objects, problems } = parseManifests(text, 'svc.yaml');
  assert.deepEqual(objects.map((o) => [o.object.metadata.name, o.document]), [['a', 0], ['c', 2]]);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.file, 'svc.yaml');
  assert.equal(problems[0]!.document, 1);
});

test('objects without a namespace default to "default", cluster-scoped kinds stay without one', () => {
  const text = 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: meshlet}\n';
  const { objects } = parseManifests(text, 'f.yaml');
  assert.equal(objects[0]!.object.metadata.namespace, 'default');
  assert.equal(objects[1]!.object.metadata.namespace, undefined);
});

test('documents that are not Kubernetes objects are problems, empty documents are ignored', () => {
  // A leading '---' opens the first document; the trailing one adds an empty document.
  const text = '---\n- just\n- a list\n---\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata: {}\n---\n';
  const { objects, problems } = parseManifests(text, 'f.yaml');
  assert.equal(objects.length, 0);
  assert.deepEqual(problems.map((p) => [p.document, p.message]), [
    [0, 'not a Kubernetes object (expected a mapping)'],
    [1, 'missing apiVersion'],
    [2, 'Service: missing metadata.name'],
  ]);
});

test('a kind: List is expanded into its items', () => {
  const text = 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: n1}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: n2}}\n';
  const { objects } = parseManifests(text, 'f.yaml');
  assert.deepEqual(objects.map((o) => o.object.metadata.name), ['n1', 'n2']);
});

test('readManifests walks a directory recursively in a stable order and skips other files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-read-'));
  try {
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'b.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n');
    await writeFile(join(dir, 'sub', 'a.yml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n');
    await writeFile(join(dir, 'c.json'), '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c"}}');
    await writeFile(join(dir, 'bad.json'), '{"apiVersion": ');
    await writeFile(join(dir, 'notes.txt'), 'not a manifest');
    const result = await readManifests(dir);
    assert.deepEqual(result.objects.map((o) => o.object.metadata.name), ['b', 'c', 'a']);
    assert.equal(result.problems.length, 1);
    assert.match(result.problems[0]!.file, /bad\.json$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a directory laid out as a mounted ConfigMap (each key a symlink into ..data) is read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-read-'));
  try {
    // What the kubelet writes: a timestamped directory, ..data pointing at it, one symlink per key.
    await mkdir(join(dir, '..2026_12_06_23_00_00.1'));
    await writeFile(join(dir, '..2026_12_06_23_00_00.1', 'shop.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n');
    await symlink('..2026_12_06_23_00_00.1', join(dir, '..data'));
    await symlink(join('..data', 'shop.yaml'), join(dir, 'shop.yaml'));
    const result = await readManifests(dir);
    assert.deepEqual(result.objects.map((o) => o.object.metadata.name), ['shop']);
    assert.deepEqual(result.problems, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
