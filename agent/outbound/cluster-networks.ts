// The cluster networks (Linkerd's `clusterNetworks`): the address ranges where a mesh Service
// can live. In controller mode an outbound destination the table does not know is asked about
// and refused while the controller does not answer (fail closed) only inside these ranges; a
// destination outside them can never be a Service of this cluster, so it passes straight
// through without a round trip and keeps working while the controller is away.
// Matching is node:net's BlockList, which also matches an IPv4-mapped IPv6 address
// (::ffff:10.1.2.3, as a dual-stack socket reports an IPv4 peer) against IPv4 ranges.
import net from 'node:net';
import { MeshletError } from '../../api/errors.ts';

/** A cluster network that is not a CIDR (or an empty list): the agent refuses to start. */
export class ClusterNetworksInvalidError extends MeshletError {
  constructor(source: string, message: string) {
    super('E_CLUSTER_NETWORKS_INVALID', `${source}: ${message}`);
  }
}

export interface ClusterNetworks {
  /** The ranges as given, for logs and /config_dump. */
  readonly cidrs: readonly string[];
  /** Whether `address` (IPv4, IPv6 or IPv4-mapped IPv6) lies in one of the ranges. */
  contains(address: string): boolean;
}

/**
 * `10.0.0.0/8`, `fd00::/8` or a bare address (one host), from a list or a comma-separated
 * string (the flag and MESHLET_CLUSTER_NETWORKS). An empty list is refused: it would pass every
 * destination through unasked; `0.0.0.0/0,::/0` is how to ask about every destination.
 */
export function parseClusterNetworks(input: string | readonly string[], source: string): ClusterNetworks {
  const items = (typeof input === 'string' ? input.split(',') : input).map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new ClusterNetworksInvalidError(source, 'no CIDR given (to ask the controller about every destination, use 0.0.0.0/0,::/0)');
  const list = new net.BlockList();
  for (const item of items) {
    const [addr = '', bits, extra] = item.split('/');
    const family = net.isIP(addr);
    const max = family === 4 ? 32 : 128;
    if (family === 0 || addr.includes('%') || extra !== undefined || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max))) {
      throw new ClusterNetworksInvalidError(source, `'${item.slice(0, 100)}' is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)`);
    }
    list.addSubnet(addr, bits === undefined ? max : Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  }
  return {
    cidrs: items,
    contains(address: string): boolean {
      const family = net.isIP(address);
      // Not an address (cannot happen for an original destination): treat it as in-cluster,
      // the side that waits for the controller rather than sends plaintext.
      if (family === 0) return true;
      return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
