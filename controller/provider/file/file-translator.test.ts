// FileTranslator.rehearse(): the start's rehearsal of an edit (file-source-worker.ts) leaves the
// translator exactly as the directory left it: an unchanged read still reports and pushes
// nothing, and the next real edit gives the table a fresh translator gives for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileTranslator } from './file-translator.ts';
import { parseManifestFile } from './read-manifests.ts';
import type { ReadResult } from './manifest-files.ts';

const FILE = '/manifests/shop.yaml';

function read(text: string): ReadResult {
  const { objects, problems } = parseManifestFile(text, FILE);
  return { objects, problems, files: [FILE] };
}

function manifest(paths: string[]): string {
  return [
    'apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, protocol: TCP}]}',
    ...paths.map((p, i) => [
      'apiVersion: gateway.networking.k8s.io/v1', 'kind: HTTPRoute', `metadata: {name: r${i}, namespace: shop}`,
      `spec: {parentRefs: [{group: "", kind: Service, name: cart, port: 80}], rules: [{matches: [{path: {type: PathPrefix, value: ${p}}}], backendRefs: [{name: cart, port: 80}]}]}`,
    ].join('\n')),
  ].join('\n---\n');
}

test('a rehearsal changes nothing a later apply() reports or pushes', () => {
  const translator = new FileTranslator({ dir: '/manifests' });
  const first = read(manifest(['/a', '/b', '/c']));
  const applied = translator.apply(first).table;
  assert.ok(applied);
  assert.match(JSON.stringify(applied.services), /"\/c"/, 'the routes attach to the Service');
  const rehearsal = translator.rehearse();
  assert.ok(rehearsal, 'a directory with routes has an edit to rehearse');
  // the annotation it adds is not part of the table: the same routes and services
  assert.deepEqual(rehearsal.services, applied.services);

  assert.deepEqual(translator.apply(first), { report: null, table: null }, 'the same directory again: nothing new');
  const edit = read(manifest(['/a', '/b', '/d']));
  const after = translator.apply(edit).table;
  const fresh = new FileTranslator({ dir: '/manifests' }).apply(edit).table;
  assert.ok(after && fresh);
  assert.equal(after.version, fresh.version);
  assert.deepEqual(after, fresh);
  assert.notEqual(after.version, applied.version);
});

test('nothing to rehearse before the first apply or without routes', () => {
  assert.equal(new FileTranslator({ dir: '/manifests' }).rehearse(), null);
  const translator = new FileTranslator({ dir: '/manifests' });
  assert.ok(translator.apply(read(manifest([]))).table);
  assert.equal(translator.rehearse(), null);
});
