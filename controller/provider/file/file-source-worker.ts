// The file-mode translation worker: watches the directory, reads and parses the manifests,
// translates and validates, and posts each new routing table to the thread that serves
// requests as JSON text (one JSON.parse there, ~0.1 s for 10 000 routes, instead of the
// seconds reading and translating take). Messages: FileSourceMessage.
import { parentPort, workerData } from 'node:worker_threads';
import { validate } from '../../../api/validate.ts';
import { FileTranslator, type FileTranslatorOptions } from './file-translator.ts';
import { watchManifests } from './watch-manifests.ts';

/**
 * A table as JSON text in slices: `head` is the table without its services and backends, which
 * follow in `parts` of at most PART_ITEMS each, so the receiving thread can parse them one at a
 * time and serve requests in between.
 */
export interface TableParts {
  head: string;
  services: string[];
  backends: string[];
}

export type FileSourceMessage =
  | { kind: 'report'; text: string }
  /** `valid`: validate() passed here, so the agent need not run it again on its thread. */
  | { kind: 'table'; parts: TableParts; valid: boolean }
  | { kind: 'error'; message: string };

const PART_ITEMS = 500;

function slices<T>(items: readonly T[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < items.length; i += PART_ITEMS) out.push(JSON.stringify(items.slice(i, i + PART_ITEMS)));
  return out;
}

const opts = workerData as FileTranslatorOptions;
const port = parentPort!;
const post = (m: FileSourceMessage): void => port.postMessage(m);
const translator = new FileTranslator(opts);
// The watcher's handles do not keep a process alive (persistent: false, unref'd poll); a
// listening port does, so this worker lives until the source terminates it.
port.on('message', () => undefined);

watchManifests(opts.dir, (read) => {
  const { report, table } = translator.apply(read);
  if (report) post({ kind: 'report', text: report });
  if (!table) return;
  let valid = true;
  try {
    validate(table);
  } catch {
    // The agent's TableHolder validates it again and refuses it with the reason.
    valid = false;
  }
  const parts = { head: JSON.stringify({ ...table, services: [], backends: [] }), services: slices(table.services), backends: slices(table.backends) };
  post({ kind: 'table', parts, valid });
}, { onError: (err) => post({ kind: 'error', message: err.message }) });
