// Where an agent's routing tables come from: the contract in api/table-source.ts, re-exported so
// the agent's layers name it locally.
export { ManualTableSource, type TableSource } from '../api/table-source.ts';
