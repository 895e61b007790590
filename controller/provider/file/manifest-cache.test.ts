import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestCache, splitDocuments } from './manifest-cache.ts';
import { parseManifestFile } from './read-manifests.ts';

const ns = (name: string): string => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}\n`;

// Texts a whole-file parse and the cached one must read alike: markers, comments, empty and
// trailing documents, a List, block scalars, CRLF, directives, document ends and broken documents.
const CASES: [string, string][] = [
  ['empty file', ''],
  ['comment only', '# nothing here\n'],
  ['one document', ns('a')],
  ['leading marker', `---\n${ns('a')}`],
  ['comment before the first marker', `# header\n---\n${ns('a')}---\n${ns('b')}`],
  ['marker with a comment', `--- # first\n${ns('a')}--- # second\n${ns('b')}`],
  ['empty document in between', `${ns('a')}---\n---\n${ns('b')}`],
  ['trailing marker', `${ns('a')}---\n`],
  ['marker without a newline at the end', `${ns('a')}---`],
  ['JSON documents', `${JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } })}\n---\n${JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } })}\n`],
  ['a List', `apiVersion: v1\nkind: List\nitems:\n- ${JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } })}\n- ${JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } })}\n---\n${ns('c')}`],
  ['block scalar holding dashes', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  x: |\n    ----\n    --- not a marker when indented\n---\n${ns('b')}`],
  ['CRLF line ends', `${ns('a')}---\n${ns('b')}`.replaceAll('\n', '\r\n')],
  ['three dashes inside a line', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {x: "a---b"}\n---\n${ns('b')}`],
  ['a directive', `%YAML 1.2\n---\n${ns('a')}`],
  ['a document end', `${ns('a')}...\n---\n${ns('b')}`],
  ['a broken document', `${ns('a')}---\napiVersion: v1\nkind: [broken\n---\n${ns('b')}`],
  ['duplicate keys', `${ns('a')}---\napiVersion: v1\nkind: Namespace\nkind: Namespace\nmetadata: {name: x}\n`],
  ['not an object', `${ns('a')}---\n- just\n- a list\n`],
  ['the same document twice', `${ns('a')}---\n${ns('a')}`],
];

test('a cached parse reads every case exactly as a whole-file parse does, first time and again', () => {
  for (const [name, text] of CASES) {
    const cache = new ManifestCache();
    const whole = parseManifestFile(text, 'f.yaml');
    assert.deepEqual(cache.parse(text, 'f.yaml'), whole, `${name}: first read`);
    assert.deepEqual(cache.parse(text, 'f.yaml'), whole, `${name}: second read`);
  }
  // .json files are JSON-checked whole first, as before.
  const cache = new ManifestCache();
  assert.deepEqual(cache.parse('{"apiVersion": "v1",', 'f.json'), parseManifestFile('{"apiVersion": "v1",', 'f.json'));
});

test('after an edit only the changed document is parsed again; the others are the same objects', () => {
  const cache = new ManifestCache();
  const before = cache.parse([ns('a'), ns('b'), ns('c')].join('---\n'), 'f.yaml');
  const parsed = cache.stats.parsed;
  const after = cache.parse([ns('a'), ns('b2'), ns('c'), ns('d')].join('---\n'), 'f.yaml');
  assert.equal(cache.stats.parsed - parsed, 2, 'b2 and d parsed, a and c reused');
  assert.deepEqual(after.objects.map((o) => [o.object.metadata.name, o.document]), [['a', 0], ['b2', 1], ['c', 2], ['d', 3]]);
  assert.equal(after.objects[0]!.object, before.objects[0]!.object);
  assert.equal(after.objects[2]!.object, before.objects[2]!.object);
  // The same text twice in one file gives two objects, as a whole parse does.
  const twice = cache.parse([ns('a'), ns('a')].join('---\n'), 'f.yaml');
  assert.notEqual(twice.objects[0]!.object, twice.objects[1]!.object);
});

test('an edit inserting a document before others renumbers them without parsing them again', () => {
  const cache = new ManifestCache();
  cache.parse([ns('a'), ns('b')].join('---\n'), 'f.yaml');
  const parsed = cache.stats.parsed;
  const after = cache.parse([ns('z'), ns('a'), ns('b')].join('---\n'), 'f.yaml');
  assert.equal(cache.stats.parsed - parsed, 1);
  assert.deepEqual(after, parseManifestFile([ns('z'), ns('a'), ns('b')].join('---\n'), 'f.yaml'));
});

test('documents are cut only at lines that start with a --- marker', () => {
  assert.deepEqual(splitDocuments('a: 1\n---\nb: 2\n'), ['a: 1\n', '---\nb: 2\n']);
  assert.deepEqual(splitDocuments('---\na: 1\n'), ['---\na: 1\n']);
  assert.deepEqual(splitDocuments('a: "x"\n ---\n----\n---x\n'), ['a: "x"\n ---\n----\n---x\n']);
  assert.deepEqual(splitDocuments('a: 1\r\n---\r\nb: 2'), ['a: 1\r\n', '---\r\nb: 2']);
  assert.deepEqual(splitDocuments(''), []);
});
