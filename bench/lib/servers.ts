// The reference processes: the upstream and the two proxies users compare meshes with. All
// three are configured for keep-alive on both sides, one worker (one core), no access logs,
// so each is near its best case for a single core.
//
// The upstream is a tiny nginx (one worker, `return 200 <fixed body>` locations) rather than a
// Node http server: it answers in a few microseconds with no GC pauses, so it adds the least
// CPU and the least tail noise to the floor ("direct") that every other figure is measured
// against; and it is outside Node, so it does not share a runtime with the proxy under test.
import { chmodSync, closeSync, mkdirSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPinned, type Started } from './procs.ts';

export const BODY_SIZES = [12, 1024] as const;

/** The path the upstream answers with exactly n bytes. */
export const pathFor = (n: number): string => `/echo/${n}`;

function bodyOf(n: number): string {
  return n === 12 ? 'hello, mesh\n' : 'x'.repeat(n - 1) + '\n';
}

function nginxCommon(dir: string, name: string, master = true): string {
  const tmp = join(dir, `${name}-tmp`);
  mkdirSync(tmp, { recursive: true });
  return `daemon off;
master_process ${master ? 'on' : 'off'};
worker_processes 1;
pid ${join(dir, `${name}.pid`)};
error_log ${join(dir, `${name}-error.log`)} warn;
events { worker_connections 8192; }
`;
}

function httpCommon(dir: string, name: string): string {
  const tmp = join(dir, `${name}-tmp`);
  return `  access_log off;
  default_type text/plain;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_buffer_size 64k;
  client_max_body_size 0;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
`;
}

/** Bytes of the streaming test's file, served by the upstream at STREAM_PATH. */
export const STREAM_BYTES = 100 * 1024 * 1024;
export const STREAM_PATH = '/stream/100m.bin';
export const UPLOAD_PATH = '/stream/upload.bin';

export function startUpstream(dir: string, port: number, cpus: string): Started {
  // a sparse 100 MB file: reads come from the page cache as zeros, no disk in the measurement
  mkdirSync(join(dir, 'stream'), { recursive: true });
  chmodSync(join(dir, 'stream'), 0o777); // the unprivileged worker writes uploads here
  const file = join(dir, 'stream', '100m.bin');
  closeSync(openSync(file, 'w'));
  truncateSync(file, STREAM_BYTES);
  const locations = BODY_SIZES.map((n) => `    location = ${pathFor(n)} { return 200 "${bodyOf(n).replace(/\n/g, '\\n')}"; }`).join('\n');
  const conf = `${nginxCommon(dir, 'upstream')}http {
${httpCommon(dir, 'upstream')}  server {
    listen 127.0.0.1:${port};
${locations}
    location = /nginx_status { stub_status; }
    # GET: the 100 MB file; PUT: the upload sink (WebDAV reads the whole body into a file)
    location /stream/ { alias ${join(dir, 'stream')}/; dav_methods PUT; }
  }
}
`;
  const confFile = join(dir, 'upstream.conf');
  writeFileSync(confFile, conf);
  return startPinned('upstream (nginx)', cpus, 'nginx', ['-p', dir, '-e', join(dir, 'upstream-error.log'), '-c', confFile]);
}

/**
 * `wrap`: words before nginx's command line (callgrind, for the counts stage); nginx then runs
 * without a master process, so the pid held is the one serving.
 */
export function startNginxProxy(dir: string, port: number, upstreamPort: number, cpus: string, name = 'nginx-proxy', wrap: string[] = []): Started {
  const conf = `${nginxCommon(dir, name, wrap.length === 0)}http {
${httpCommon(dir, name)}  upstream echo { server 127.0.0.1:${upstreamPort}; keepalive 128; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://echo;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, conf);
  const argv = ['-p', dir, '-e', join(dir, `${name}-error.log`), '-c', file];
  return wrap.length === 0 ? startPinned(name.replace(/-/g, ' '), cpus, 'nginx', argv) : startPinned(name.replace(/-/g, ' '), cpus, wrap[0]!, [...wrap.slice(1), 'nginx', ...argv]);
}

export function startHaproxy(dir: string, port: number, upstreamPort: number, cpus: string): Started {
  const conf = `global
  nbthread 1
  maxconn 4000
  log stderr format raw local0 err

defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
  option http-keep-alive
  http-reuse always

frontend fe
  bind 127.0.0.1:${port}
  default_backend be

backend be
  server echo 127.0.0.1:${upstreamPort}
`;
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, conf);
  // -db: stay in the foreground, single process, so the pid we hold is the one serving.
  return startPinned('haproxy', cpus, 'haproxy', ['-db', '-f', file]);
}

/**
 * Connections the upstream has accepted so far (nginx stub_status). Differences across a
 * scenario show whether a proxy reuses its upstream connections. Asks on a fresh connection,
 * which the caller subtracts (+1 per call).
 */
export async function upstreamAccepts(port: number): Promise<number> {
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/nginx_status', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => {
        // "Active connections: 1 \nserver accepts handled requests\n 12 12 30 \n..."
        const m = /\n\s*(\d+)\s+\d+\s+\d+/.exec(body);
        resolve(m?.[1] !== undefined ? Number(m[1]) : NaN);
      });
    });
    req.on('error', () => resolve(NaN));
    req.end();
  });
}
