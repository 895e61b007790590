// `meshlet translate`: the translator as a command. Prints the Gateway API objects of the input
// with the status meshlet would write, and with --ir the routing table agents would receive.
// It is how users debug "why is my route not Accepted" without a cluster, and how tests pin it.
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { carryTimes } from '../controller/status/status-diff.ts';
import { translate } from '../controller/translate/index.ts';
import type { KubeObject, StatusUpdate } from '../controller/translate/snapshot.ts';
import type { Command } from './command.ts';
import { loadInput, parseAddresses } from './load-input.ts';
import { UsageError } from './usage-error.ts';

const HELP = `Usage: meshlet translate -f PATH [-o yaml|json] [--ir] [--address NS/GATEWAY=IP]...

Reads a manifest file or a directory of multi-document YAML (Gateway API objects, Services,
EndpointSlices, Secrets, Namespaces) and prints a Kubernetes List of the GatewayClasses,
Gateways, HTTPRoutes, GRPCRoutes and XMeshes with the status meshlet computes for them.

Flags:
  -f, --filename PATH   file or directory to read (required)
  -o, --output FORMAT   yaml (default) or json
      --ir              also print the routing table (kind RoutingTable) agents would receive
      --address A       an address the environment gave a Gateway, e.g. default/gw=10.0.0.1
                        (spec.addresses of type IPAddress are used too)

Documents that fail to parse are reported on stderr with file and document number and skipped;
the exit code is then 1, but everything else is still translated and printed.
`;

const STATUS_KINDS = new Set(['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'XMesh', 'AuthorizationPolicy']);

function key(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

/**
 * The input objects that carry status, with the computed status in place of their own. A route
 * condition that holds keeps the input's time, as the controller's status writer keeps it
 * (translation leaves route condition times to the writer: carryTimes).
 */
export function withStatuses(objects: KubeObject[], statuses: StatusUpdate[]): KubeObject[] {
  const byKey = new Map(statuses.map((s) => [key(s.kind, s.namespace, s.name), s.status]));
  return objects
    .filter((o) => STATUS_KINDS.has(o.kind))
    .map((o) => {
      const status = byKey.get(key(o.kind, o.metadata.namespace, o.metadata.name));
      if (!status) return o;
      const isRoute = o.kind.endsWith('Route');
      return { ...o, status: isRoute ? carryTimes(status, o.status, o.metadata.namespace ?? 'default') : status };
    });
}

export const translateCommand: Command = {
  name: 'translate',
  summary: 'print the status and routing table meshlet computes for manifests',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        filename: { type: 'string', short: 'f' },
        output: { type: 'string', short: 'o', default: 'yaml' },
        ir: { type: 'boolean', default: false },
        address: { type: 'string', multiple: true, default: [] },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.output !== 'yaml' && values.output !== 'json') throw new UsageError(`-o must be yaml or json, got '${values.output}'`);
    const input = await loadInput(values.filename, io, parseAddresses(values.address));
    const result = translate(input.snapshot);
    const items: unknown[] = withStatuses(input.objects.map((o) => o.object), result.statuses);
    if (values.ir) items.push({ kind: 'RoutingTable', ...result.ir });
    const list = { apiVersion: 'v1', kind: 'List', items };
    io.stdout.write(values.output === 'json' ? `${JSON.stringify(list, null, 2)}\n` : stringify(list, { lineWidth: 0 }));
    return input.problems.length > 0 ? 1 : 0;
  },
};
