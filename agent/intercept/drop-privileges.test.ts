// Unit checks that cannot change this process's identity; the real drop to uid 1337 runs in
// the e2e suite (test/e2e: the agent stand-in and the real agent report uid/gid 1337).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dropPrivileges } from './drop-privileges.ts';
import { PrivilegeDropError } from './errors.ts';

describe('dropPrivileges', () => {
  test('refuses invalid ids before touching anything', () => {
    const uid = process.getuid!();
    for (const [u, g] of [[-1, 0], [1.5, 0], [0, -3], [Number.NaN, 0]] as const) {
      assert.throws(() => dropPrivileges(u, g), PrivilegeDropError, `${u}/${g}`);
    }
    assert.equal(process.getuid!(), uid);
  });

  test('is a no-op when already running as that uid and gid', () => {
    const uid = process.getuid!();
    const gid = process.getgid!();
    dropPrivileges(uid, gid);
    assert.equal(process.getuid!(), uid);
    assert.equal(process.getgid!(), gid);
  });

  test('a non-root process cannot become another uid, and says so', () => {
    // The child loads the module first and only then, when it started as root, becomes nobody
    // itself: a child started as nobody could not read a checkout in a private directory.
    const script = `import { dropPrivileges } from ${JSON.stringify(new URL('./drop-privileges.ts', import.meta.url).href)};
      if (process.getuid() === 0) { process.setgid(65534); process.setuid(65534); }
      try { dropPrivileges(process.getuid() + 1); console.log('switched'); } catch (e) { console.log(e.code + ' ' + e.message); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.match(r.stdout, /^E_PRIVILEGE_DROP .*only root can drop privileges/, r.stderr);
  });
});
