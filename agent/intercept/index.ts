// agent/intercept: transparent interception, the `meshlet init` half. A pure generator turns
// options into nat-table rules (outbound TCP → 15001 except the agent's uid and loopback,
// inbound TCP → 15006 except the agent's ports; include/exclude lists; IPv4 and IPv6); a pure
// planner diffs them against iptables-save; the applier picks iptables-nft or -legacy (never
// both) and writes one atomic iptables-restore per family, or nothing when already in place.
// Also dropPrivileges(), so the agent can bind as root and then run as the exempt uid 1337.
export { runInit } from './run-init.ts';
export type { InitResult, FamilyResult, FamilyAction, InitIo } from './run-init.ts';
export { parseInitArgs, INIT_HELP } from './parse-args.ts';
export type { ParsedInitArgs } from './parse-args.ts';
export { defaultInitOptions, validateInitOptions, agentPorts } from './options.ts';
export type { InitOptions, Selection } from './options.ts';
export { buildRuleSet, renderRestore, CHAINS } from './rules.ts';
export type { RuleSet, Family } from './rules.ts';
export { dropPrivileges } from './drop-privileges.ts';
export { InitOptionsError, IptablesUnavailableError, IptablesCommandError, PrivilegeDropError } from './errors.ts';
