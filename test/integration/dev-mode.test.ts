// `meshlet dev`, the README's first command, as a user runs it: it must start the examples'
// mesh and every request it suggests must answer as the printed explanation says. --check runs
// exactly the demo list that is printed (cli/dev/demos.ts), against the live processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../cli/main.ts';
import { captureIo } from '../../cli/test-io.ts';

test('meshlet dev --check: every suggested request behaves as described', async () => {
  const io = captureIo();
  // Non-default ports so the test runs without root and beside a developer's own `meshlet dev`
  // on the default ports.
  const code = await main(['dev', '--check', '--port-offset', '20000', '--client-port', '25001'], io);
  assert.equal(code, 0, io.out() + io.err());
  assert.match(io.out(), /starting 8 workload\(s\), each behind its own sidecar/);
  assert.match(io.out(), /ingress on 127\.0\.0\.1: 80 → 20080, 443 → 20443/);
  assert.match(io.out(), /mutual TLS between every sidecar and the ingress; mesh CA generated for this run/);
  assert.match(io.out(), /default\/reviews-v1-6f8b9-aaaaa .*spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews-v1/);
  assert.match(io.out(), /^✓ mutual TLS between sidecars: the app learns who called/m);
  assert.match(io.out(), /^✓ AuthorizationPolicy: httpbin admits only the ingress/m);
  assert.match(io.out(), /^13 passed, 0 failed$/m);
});

test('meshlet dev prints the curl commands and stops cleanly on Ctrl-C', async () => {
  const io = captureIo();
  const run = main(['dev', '--port-offset', '20000', '--client-port', '25001'], io);
  for (let i = 0; i < 300 && !/Ctrl-C stops everything/.test(io.out()); i++) await new Promise((r) => setTimeout(r, 50));
  const out = io.out();
  assert.match(out, /curl -s -H 'Host: reviews\.default:9080' http:\/\/127\.0\.0\.1:25001\//);
  assert.match(out, /curl -sik --resolve api\.anyflow\.net:20443:127\.0\.0\.1 https:\/\/api\.anyflow\.net:20443\/ \| head -n 5/);
  assert.match(out, /for i in \$\(seq 20\); do curl -s -H 'Host: checkout\.default:8080' http:\/\/127\.0\.0\.1:25001\/cart/);
  io.stop('SIGINT');
  assert.equal(await run, 0);
  assert.match(io.out(), /SIGINT: stopping/);
  // Everything was closed: the same fixed addresses can be bound again at once.
  const again = captureIo();
  assert.equal(await main(['dev', '--check', '--port-offset', '20000', '--client-port', '25001'], again), 0, again.out() + again.err());
});
