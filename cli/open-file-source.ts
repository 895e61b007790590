// `--config DIR` for a long-running command: the first translation must succeed before
// listeners open; a directory that yields none is the user's error (exit 1), not ours.
import { FileTableSource, type FileTableSourceOptions } from '../controller/provider/file/index.ts';
import { UsageError } from './usage-error.ts';

export async function openFileSource(opts: FileTableSourceOptions): Promise<FileTableSource> {
  const source = new FileTableSource(opts).start();
  try {
    await source.ready();
  } catch (err) {
    source.close();
    throw new UsageError((err as Error).message);
  }
  return source;
}
