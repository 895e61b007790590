// The two-sidecar chain of sidecar-chain.ts in a process of its own, so a test can read the
// proxies' memory from /proc without its own client and app in the figure. Started as
// `node sidecar-chain-process.ts APP_PORT`; prints one JSON line `{"outbound": PORT}` once both
// sidecars listen, and closes them and exits when its stdin ends (the test stopped or died).
import { startSidecarChain } from './sidecar-chain.ts';

const appPort = Number(process.argv[2]);
if (!Number.isInteger(appPort) || appPort <= 0) {
  process.stderr.write(`usage: sidecar-chain-process.ts APP_PORT (got ${process.argv[2] ?? 'nothing'})\n`);
  process.exit(2);
}
const chain = await startSidecarChain(appPort);
process.stdout.write(`${JSON.stringify({ outbound: chain.a.ports.outbound })}\n`);
process.stdin.resume();
process.stdin.once('end', () => {
  void chain.close().finally(() => process.exit(0));
});
