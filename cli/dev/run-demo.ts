// Runs a demo request the way its printed curl does and checks the answer: `meshlet dev
// --check` and the dev-mode test use it, so every suggested command is proven against the
// running mesh. One keep-alive agent per demo: the split demo also shows that weighted shares
// hold on a single reused connection.
import http from 'node:http';
import https from 'node:https';
import type { Demo, DemoRequest } from './demos.ts';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(r: DemoRequest, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const host = r.host.replace(/:\d+$/, '');
    const options: https.RequestOptions = {
      host: '127.0.0.1',
      port: r.port,
      path: r.path,
      headers: { ...r.headers, host: r.scheme === 'https' ? `${host}:${r.port}` : r.host },
      agent,
      timeout: 5000,
      servername: host,
      // The example certificates are self-signed (curl -k): trust is not what these demos show.
      rejectUnauthorized: false,
    };
    const req = (r.scheme === 'https' ? https : http).request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 5 s')));
    req.on('error', reject);
    req.end();
  });
}

function podOf(a: Answer): string {
  try {
    const pod = (JSON.parse(a.body) as { pod?: unknown }).pod;
    return typeof pod === 'string' ? pod : '';
  } catch {
    return '';
  }
}

/** Returns null when the answer is what the demo promises, else what was wrong. */
export async function runDemo(d: Demo): Promise<string | null> {
  const agent = d.request.scheme === 'https' ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const e = d.expect;
    if (e.kind === 'split') {
      const counts: Record<string, number> = {};
      for (let i = 0; i < e.count; i++) {
        const pod = podOf(await send(d.request, agent));
        const prefix = Object.keys(e.pods).find((p) => pod.startsWith(p)) ?? pod;
        counts[prefix] = (counts[prefix] ?? 0) + 1;
      }
      return JSON.stringify(counts) === JSON.stringify(Object.fromEntries(Object.keys(e.pods).map((k) => [k, counts[k] ?? 0])))
        && Object.keys(counts).every((k) => k in e.pods) ? null : `expected ${JSON.stringify(e.pods)}, got ${JSON.stringify(counts)}`;
    }
    const a = await send(d.request, agent);
    switch (e.kind) {
      case 'pod':
        return a.status === e.status && podOf(a).startsWith(e.podPrefix) ? null : `expected ${e.status} from a ${e.podPrefix}* pod, got ${a.status} from '${podOf(a)}': ${a.body.slice(0, 200)}`;
      case 'redirect':
        return a.status === e.status && a.headers.location === e.location ? null : `expected ${e.status} to ${e.location}, got ${a.status} to ${a.headers.location ?? '(none)'}`;
      case 'status':
        return a.status === e.status ? null : `expected ${e.status}, got ${a.status}`;
      case 'response-header':
        return a.headers[e.name] === e.value ? null : `expected response header ${e.name}: ${e.value}, got ${String(a.headers[e.name])}`;
      case 'request-header': {
        let seen: string[] = [];
        try {
          seen = (JSON.parse(a.body) as { headers: Record<string, string[]> }).headers[e.name] ?? [];
        } catch { /* not JSON: reported below */ }
        return seen.includes(e.value) ? null : `expected the backend to see ${e.name}: ${e.value}, got ${a.status} ${a.body.slice(0, 200)}`;
      }
    }
  } catch (err) {
    return (err as Error).message;
  } finally {
    agent.destroy();
  }
}
