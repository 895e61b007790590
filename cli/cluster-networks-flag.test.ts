// --cluster-networks / $MESHLET_CLUSTER_NETWORKS: a range that is not a CIDR stops `meshlet agent`
// before it opens a socket or dials the controller, with a message naming where the value came
// from (the injector checks the mesh config too, so this guards hand-written pods and flags).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';

test('a bad cluster network is a user error at startup, from the flag or the variable', async () => {
  const flag = captureIo();
  assert.equal(await main(['agent', '--controller', 'ws://127.0.0.1:1', '--cluster-networks', '10.0.0.0/8,10.0.0.0/33'], flag), 1);
  assert.match(flag.err(), /--cluster-networks: '10\.0\.0\.0\/33' is not a CIDR \(e\.g\. 10\.0\.0\.0\/8 or fd00::\/8\)/);

  const saved = process.env.MESHLET_CLUSTER_NETWORKS;
  try {
    process.env.MESHLET_CLUSTER_NETWORKS = 'fd00::/8,private';
    const env = captureIo();
    assert.equal(await main(['agent', '--controller', 'ws://127.0.0.1:1'], env), 1);
    assert.match(env.err(), /MESHLET_CLUSTER_NETWORKS: 'private' is not a CIDR/);
    process.env.MESHLET_CLUSTER_NETWORKS = '';
    const empty = captureIo();
    assert.equal(await main(['agent', '--controller', 'ws://127.0.0.1:1'], empty), 1);
    assert.match(empty.err(), /MESHLET_CLUSTER_NETWORKS: no CIDR given \(to ask the controller about every destination, use 0\.0\.0\.0\/0,::\/0\)/);
  } finally {
    if (saved === undefined) delete process.env.MESHLET_CLUSTER_NETWORKS;
    else process.env.MESHLET_CLUSTER_NETWORKS = saved;
  }
});

test('the agent help documents the flag, its variable and its default', async () => {
  const io = captureIo();
  assert.equal(await main(['agent', '--help'], io), 0);
  assert.match(io.out(), /--cluster-networks CIDRS[\s\S]*\$MESHLET_CLUSTER_NETWORKS or 10\.0\.0\.0\/8,100\.64\.0\.0\/10,172\.16\.0\.0\/12,192\.168\.0\.0\/16,fd00::\/8/);
});
