// The flags of `meshlet init`, shared by the parser (agent/intercept/parse-args.ts) and the
// injector, which renders them into the meshlet-init container: one list, so the injector can
// never write a flag the init container does not understand.

export const INIT_FLAGS = {
  outboundPort: '--outbound-port',
  inboundPort: '--inbound-port',
  proxyUid: '--proxy-uid',
  proxyGid: '--proxy-gid',
  includeOutboundPorts: '--include-outbound-ports',
  excludeOutboundPorts: '--exclude-outbound-ports',
  includeOutboundCidrs: '--include-outbound-cidrs',
  excludeOutboundCidrs: '--exclude-outbound-cidrs',
  includeInboundPorts: '--include-inbound-ports',
  excludeInboundPorts: '--exclude-inbound-ports',
  ipv6: '--ipv6',
  iptablesMode: '--iptables-mode',
  dryRun: '--dry-run',
  cleanup: '--cleanup',
} as const;

export type InitFlag = typeof INIT_FLAGS[keyof typeof INIT_FLAGS];

/** Flags followed by a value (`--flag v` or `--flag=v`); the others are switches. */
export const INIT_VALUED_FLAGS: readonly InitFlag[] = [
  INIT_FLAGS.outboundPort, INIT_FLAGS.inboundPort, INIT_FLAGS.proxyUid, INIT_FLAGS.proxyGid,
  INIT_FLAGS.includeOutboundPorts, INIT_FLAGS.excludeOutboundPorts, INIT_FLAGS.includeOutboundCidrs, INIT_FLAGS.excludeOutboundCidrs,
  INIT_FLAGS.includeInboundPorts, INIT_FLAGS.excludeInboundPorts, INIT_FLAGS.ipv6, INIT_FLAGS.iptablesMode,
];
