// `meshlet init` flags → InitOptions, and the help text the CLI prints. Lists are comma
// separated and a repeated flag appends; `*` selects everything; an empty value selects
// nothing (e.g. `--include-inbound-ports ""` leaves all inbound traffic alone).
import type { InitOptions, Selection } from './options.ts';
import { defaultInitOptions, validateInitOptions } from './options.ts';
import { InitOptionsError } from './errors.ts';
import { INIT_FLAGS as F, INIT_VALUED_FLAGS } from '../../api/init-args.ts';

export const INIT_HELP = `Usage: meshlet init [flags]

Programs the pod's network namespace (run as an init container with NET_ADMIN) so its TCP
traffic goes through the meshlet agent: outbound TCP is redirected to the agent's outbound port
except traffic from the agent's uid and traffic on loopback; inbound TCP is redirected to the
agent's inbound port except the agent's own ports (outbound, inbound, 15020). IPv4 and IPv6.
Uses iptables-nft or iptables-legacy, whichever the node already uses (never both). Idempotent:
a second run changes nothing. Rules live in the nat chains MESHLET_INBOUND, MESHLET_IN_REDIRECT,
MESHLET_OUTPUT, MESHLET_OUT_DEST and MESHLET_REDIRECT.

Flags:
  --outbound-port PORT           agent outbound listener (default 15001)
  --inbound-port PORT            agent inbound listener (default 15006)
  --proxy-uid UIDS               uids whose traffic is never redirected (default 1337)
  --proxy-gid GIDS               gids whose traffic is never redirected (default none)
  --include-outbound-ports PORTS '*' or ports to redirect outbound (default '*')
  --exclude-outbound-ports PORTS destination ports never redirected outbound
  --include-outbound-cidrs CIDRS '*' or destination CIDRs to redirect (default '*')
  --exclude-outbound-cidrs CIDRS destination CIDRs never redirected (IPv4 and IPv6 mixed)
  --include-inbound-ports PORTS  '*' or pod ports to redirect inbound (default '*'; '' = none)
  --exclude-inbound-ports PORTS  pod ports left alone, besides the agent's own
  --ipv6 auto|on|off             program ip6tables too (default auto: if the kernel has IPv6)
  --iptables-mode auto|nft|legacy
                                 force a variant (default auto: the one holding rules already,
                                 else the system's default iptables)
  --dry-run                      print the iptables-restore input; change nothing
  --cleanup                      remove every meshlet chain and jump
  -h, --help                     this text

Lists are comma separated; repeating a flag appends. Exit codes: 0 ok, 1 bad flags, 2 failure.
`;

export interface ParsedInitArgs {
  help: boolean;
  options: InitOptions;
}

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

function numbers(v: string, flag: string): number[] {
  return list(v).map((s) => {
    if (!/^\d+$/.test(s)) throw new InitOptionsError(`${flag}: '${s}' is not a number`);
    return Number(s);
  });
}

function append<T>(prev: Selection<T>, next: Selection<T>): Selection<T> {
  return prev === '*' || next === '*' ? '*' : [...prev, ...next];
}

function choice<T extends string>(v: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(v)) throw new InitOptionsError(`${flag}: expected one of ${allowed.join('|')}, got '${v}'`);
  return v as T;
}

const VALUED = new Set<string>(INIT_VALUED_FLAGS);

/** Parses `meshlet init` arguments (without the `init` itself). Throws InitOptionsError. */
export function parseInitArgs(argv: readonly string[]): ParsedInitArgs {
  const o = defaultInitOptions();
  // --help anywhere wins, even next to a malformed flag: the user is asking how to fix it.
  if (argv.includes('--help') || argv.includes('-h')) return { help: true, options: o };
  // Flags that select ('*' or list) start from their default only until given once.
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    let value = '';
    if (VALUED.has(flag)) {
      if (eq > 0 && arg.startsWith('--')) value = arg.slice(eq + 1);
      else if (i + 1 < argv.length) value = argv[++i] ?? '';
      else throw new InitOptionsError(`${flag} needs a value`);
    }
    const selection = (sel: Selection<number>): Selection<number> => {
      const next: Selection<number> = value.trim() === '*' ? '*' : numbers(value, flag);
      const first = !given.has(flag);
      given.add(flag);
      return first ? next : append(sel, next);
    };
    const ids = (prev: number[]): number[] => {
      const first = !given.has(flag);
      given.add(flag);
      return [...(first ? [] : prev), ...numbers(value, flag)];
    };
    switch (flag) {
      case F.dryRun: o.dryRun = true; break;
      case F.cleanup: o.cleanup = true; break;
      case F.outboundPort: o.outboundPort = numbers(value, flag)[0] ?? NaN; break;
      case F.inboundPort: o.inboundPort = numbers(value, flag)[0] ?? NaN; break;
      case F.proxyUid: o.proxyUids = ids(o.proxyUids); break;
      case F.proxyGid: o.proxyGids = ids(o.proxyGids); break;
      case F.includeOutboundPorts: o.includeOutboundPorts = selection(o.includeOutboundPorts); break;
      case F.excludeOutboundPorts: o.excludeOutboundPorts.push(...numbers(value, flag)); break;
      case F.includeInboundPorts: o.includeInboundPorts = selection(o.includeInboundPorts); break;
      case F.excludeInboundPorts: o.excludeInboundPorts.push(...numbers(value, flag)); break;
      case F.includeOutboundCidrs: {
        const next: Selection<string> = value.trim() === '*' ? '*' : list(value);
        o.includeOutboundCidrs = given.has(flag) ? append(o.includeOutboundCidrs, next) : next;
        given.add(flag);
        break;
      }
      case F.excludeOutboundCidrs: o.excludeOutboundCidrs.push(...list(value)); break;
      case F.ipv6: o.ipv6 = choice(value, ['auto', 'on', 'off'] as const, flag); break;
      case F.iptablesMode: o.iptablesMode = choice(value, ['auto', 'nft', 'legacy'] as const, flag); break;
      default: throw new InitOptionsError(`unknown flag '${arg}' (meshlet init --help)`);
    }
  }
  validateInitOptions(o);
  return { help: false, options: o };
}
