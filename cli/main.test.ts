import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, main } from './main.ts';
import { captureIo } from './test-io.ts';

test('no arguments prints the command list and exits 1; --help exits 0', async () => {
  const io = captureIo();
  assert.equal(await main([], io), 1);
  assert.match(io.out(), /Commands:\n.*translate/s);
  const io2 = captureIo();
  assert.equal(await main(['--help'], io2), 0);
  assert.match(io2.out(), /explain/);
});

test('each subcommand has its own help', async () => {
  for (const name of ['translate', 'explain']) {
    const io = captureIo();
    assert.equal(await main([name, '--help'], io), 0);
    assert.match(io.out(), new RegExp(`Usage: meshlet ${name}`));
  }
});

test('an unknown command or flag is a user error (exit 1) with a pointer to help', async () => {
  const io = captureIo();
  assert.equal(await main(['frobnicate'], io), 1);
  assert.match(io.err(), /unknown command 'frobnicate'/);
  const io2 = captureIo();
  assert.equal(await main(['translate', '--frob'], io2), 1);
  assert.match(io2.err(), /Unknown option '--frob'.*\n.*meshlet translate --help/s);
});

test('the lazy registry says what each command says of itself', async () => {
  // Summaries are repeated in the registry so that --help loads no command module.
  for (const entry of COMMANDS) {
    const cmd = await entry.load();
    assert.equal(cmd.name, entry.name);
    assert.equal(cmd.summary, entry.summary, `summary of ${entry.name}`);
    assert.match(cmd.help, new RegExp(`Usage: meshlet ${entry.name}`));
  }
});

test('proxy commands take exactly one table source, and a token only with a controller', async () => {
  for (const cmd of ['agent', 'ingress']) {
    const none = captureIo();
    assert.equal(await main([cmd], none), 1);
    assert.match(none.err(), /exactly one of --config DIR and --controller URL/);
    const token = captureIo();
    assert.equal(await main([cmd, '--config', 'examples', '--token-file', '/dev/null'], token), 1);
    assert.match(token.err(), /--token-file goes with --controller URL/);
  }
});
