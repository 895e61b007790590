// Images are not pulled: each image name maps to a local command. The meshlet image (what the
// injector renders, meshlet/meshlet:<version>, and its init image meshlet/meshlet-init) runs the repository's meshlet with this Node;
// meshlet/echo runs the echo workload; meshlet/toolbox runs the container's command as a host
// program (sh, node...), which is how tests write Jobs and one-off clients.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../box/components.ts';
import type { ContainerSpec } from './pod-types.ts';

export const ECHO_IMAGE = 'meshlet/echo:dev';
export const TOOLBOX_IMAGE = 'meshlet/toolbox:dev';

function meshletEntry(): string {
  // The built dist/ when present (what the chart's image ships), else the sources.
  const dist = join(repoRoot, 'dist/bin/meshlet.js');
  return existsSync(dist) ? dist : join(repoRoot, 'bin/meshlet.js');
}

/** The argv a container runs, or undefined when its image maps to nothing here. */
export function containerArgv(c: ContainerSpec): string[] | undefined {
  const repo = c.image.split(/[:@]/)[0];
  const args = c.args ?? [];
  switch (repo) {
    case 'meshlet/meshlet':
    case 'meshlet/meshlet-init': {
      // The image's entrypoint is the meshlet binary: `command: [meshlet, ...]` names it.
      const command = c.command ?? ['meshlet'];
      const rest = command[0] === 'meshlet' ? command.slice(1) : command;
      return [process.execPath, meshletEntry(), ...rest, ...args];
    }
    case 'meshlet/echo':
      return [process.execPath, join(repoRoot, 'test/cluster/fixtures/echo-pod.ts'), ...args];
    case 'meshlet/toolbox':
      return c.command ? [...c.command, ...args] : undefined;
    default:
      return undefined;
  }
}
