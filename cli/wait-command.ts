// `meshlet wait`: blocks until the agent is ready. In legacy mode the injector makes it the
// proxy container's postStart hook: the kubelet starts the next container only once the hook
// returns, so the app never starts before its proxy (Istio's holdApplicationUntilProxyStarts,
// `pilot-agent wait`). Exit 0 when ready; 1 when the timeout passes first, so the kubelet
// restarts the proxy rather than run the app without it.
import http from 'node:http';
import { parseArgs } from 'node:util';
import { PORTS } from '../api/names.ts';
import type { Command } from './command.ts';
import { UsageError } from './usage-error.ts';

const DEFAULT_URL = `http://127.0.0.1:${PORTS.admin}/ready`;

const HELP = `Usage: meshlet wait [--timeout S] [--url URL] [--interval S]

Waits until URL answers 200, then exits 0; exits 1 with what it last saw when S seconds pass
first. In legacy sidecar mode this is the proxy's postStart hook, which holds the app's
containers until the proxy is ready.

Flags:
  --timeout S    give up after S seconds (default 60)
  --url URL      what to poll (default ${DEFAULT_URL}); http:// only
  --interval S   pause between attempts (default 0.5); an attempt gives up after 1 s
`;

function seconds(value: string, name: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--${name} wants a number of seconds, got '${value}'`);
  return n * 1000;
}

/** One GET; the status, or why there was none. */
function attempt(url: URL, timeoutMs: number): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ error: err.message }));
  });
}

export const waitCommand: Command = {
  name: 'wait',
  summary: 'wait until the agent is ready (the legacy-mode postStart hook)',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        timeout: { type: 'string', default: '60' },
        url: { type: 'string', default: DEFAULT_URL },
        interval: { type: 'string', default: '0.5' },
      },
      strict: true,
    });
    const timeoutMs = seconds(values.timeout, 'timeout');
    const intervalMs = seconds(values.interval, 'interval');
    let url: URL;
    try {
      url = new URL(values.url);
    } catch {
      throw new UsageError(`--url wants a URL, got '${values.url}'`);
    }
    if (url.protocol !== 'http:') throw new UsageError(`--url wants an http:// URL, got '${values.url}'`);
    const start = Date.now();
    let last: string | undefined;
    // Bounded by the deadline; at least one attempt even with --timeout 0.
    for (let n = 1; ; n++) {
      const r = await attempt(url, 1_000);
      if ('status' in r && r.status === 200) {
        io.stdout.write(`meshlet wait: ${url.href} ready after ${Date.now() - start} ms (${n} attempt${n === 1 ? '' : 's'})\n`);
        return 0;
      }
      last = 'status' in r ? `HTTP ${r.status}` : r.error;
      const remaining = start + timeoutMs - Date.now();
      if (remaining <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, remaining)));
    }
    io.stderr.write(`meshlet wait: ${url.href} not ready after ${timeoutMs / 1000} s (last: ${last ?? 'nothing'})\n`);
    return 1;
  },
};
