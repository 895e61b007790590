// Tables already validated off the serving thread (file mode validates in its translation
// worker, issue 15): the agent's TableHolder skips its own validate() for them, which on a
// 10 000-route table would otherwise stall requests for a third of a second. Only an in-process
// source that ran validate() itself may mark a table: a table from the wire only once the
// controller client's decoding worker validated it (agent/controller-client/wire-decoder.ts).
import type { RoutingTable } from './routing-table.ts';

const validated = new WeakSet<RoutingTable>();

export function markValidated(table: RoutingTable): RoutingTable {
  validated.add(table);
  return table;
}

export function isValidated(table: RoutingTable): boolean {
  return validated.has(table);
}
