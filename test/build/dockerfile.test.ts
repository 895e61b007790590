// Static checks of the Dockerfile (hadolint is not packaged for this Debian: `apt-cache policy
// hadolint` finds no candidate, so there is no linter to run here): what review
// would otherwise have to remember. The build itself needs a container runtime and is not run.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
const stages = lines.reduce<string[][]>((acc, l) => {
  if (l.startsWith('FROM ')) acc.push([]);
  acc.at(-1)?.push(l);
  return acc;
}, []);
const final = stages.at(-1) ?? [];
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

test('two stages whose bases are build arguments pinned by digest, same Node major and Debian release', () => {
  assert.equal(stages.length, 2);
  const args = lines.filter((l) => l.startsWith('ARG ') && lines.indexOf(l) < lines.findIndex((x) => x.startsWith('FROM ')));
  const pinned = /^ARG (BUILD_IMAGE|RUNTIME_IMAGE)=node:(\d+)-([a-z]+)(-slim)?@sha256:[0-9a-f]{64}$/;
  assert.deepEqual(args.map((a) => pinned.exec(a)?.[1]), ['BUILD_IMAGE', 'RUNTIME_IMAGE'], `not pinned by digest: ${args.join(' | ')}`);
  const [build, runtime] = args.map((a) => pinned.exec(a) ?? []);
  assert.equal(build?.[2], '24', 'Node 24, the version the project tests with');
  assert.equal(runtime?.[2], build?.[2], 'the addon is built for the Node ABI it runs on');
  assert.equal(runtime?.[3], build?.[3], 'the addon links against the same Debian release');
  assert.equal(runtime?.[4], '-slim', 'the runtime is the slim image, without compilers');
  assert.deepEqual(stages.map((s) => s[0]), ['FROM ${BUILD_IMAGE} AS build', 'FROM ${RUNTIME_IMAGE}']);
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  assert.match(text, /docker buildx imagetools inspect node:24-bookworm-slim/, 'the comment says how to refresh the digests');
});

test('no stage runs as root at the end: the runtime switches to a numeric non-root user before the entrypoint', () => {
  const users = final.filter((l) => l.startsWith('USER '));
  assert.ok(users.length > 0);
  assert.ok(final.indexOf(users.at(-1) ?? '') < final.length - 1);
  assert.match(users.at(-1) ?? '', /^USER [1-9]\d*:[1-9]\d*$/);
  assert.ok(!final.slice(final.indexOf(users.at(-1) ?? '')).some((l) => l.startsWith('RUN ')), 'nothing runs after dropping root that would need it');
});

test('the runtime runs as uid 1337, the binary from dist/, production dependencies only', () => {
  assert.equal(final.filter((l) => l.startsWith('USER ')).at(-1), 'USER 1337:1337');
  assert.equal(final.at(-1), 'ENTRYPOINT ["node", "/opt/meshlet/dist/bin/meshlet.js"]');
  assert.ok(stages[0]?.some((l) => l.includes('npm prune --omit=dev')), 'devDependencies are pruned before the copy');
  assert.deepEqual(final.filter((l) => l.startsWith('COPY')), [
    'COPY --from=build /src/package.json ./',
    'COPY --from=build /src/node_modules node_modules',
    'COPY --from=build /src/dist dist',
  ]);
});

test('the addon is compiled in the build stage, required, and shipped inside dist/', () => {
  const build = (stages[0] ?? []).join('\n');
  assert.match(build, /MESHLET_REQUIRE_NATIVE=1/);
  assert.match(build, /cp agent\/native\/build\/Release\/meshlet_native\.node dist\/agent\/native\/build\/Release\//);
});

test('every source folder of the build is copied, and every copied path exists and is not ignored', () => {
  const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  const copied = (stages[0] ?? []).filter((l) => l.startsWith('COPY ')).flatMap((l) => l.split(/\s+/).slice(1, -1));
  for (const dir of tsconfig.include) assert.ok(copied.includes(dir), `${dir} is compiled but not copied`);
  for (const src of copied) {
    assert.ok(existsSync(join(ROOT, src)), `${src} does not exist`);
    assert.ok(!ignored.includes(src), `${src} is excluded by .dockerignore`);
  }
});

test('the runtime has iptables for meshlet init', () => {
  assert.ok(final.some((l) => /apt-get install .*\biptables\b/.test(l)));
});
