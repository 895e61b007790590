// The meshlet CLI as a user runs it against the box: the built dist/ when present (what the image
// ships), else the sources, with this test's Node. A non-zero exit is a result, not an error.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../box/components.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function meshletEntry(): string {
  const dist = join(repoRoot, 'dist/bin/meshlet.js');
  return existsSync(dist) ? dist : join(repoRoot, 'bin/meshlet.js');
}

export function meshlet(args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [meshletEntry(), ...args], { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(new Error(`meshlet ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}
