// File mode for the controller (`--config DIR`): the manifests stand in for the cluster; every
// settled change is translated and handed to the publisher; statuses are only logged.
import type { FileTableSource } from '../provider/file/index.ts';
import type { Publisher } from '../publish/index.ts';
import type { Runner } from './runner.ts';

export class FileSourceRunner implements Runner {
  readonly name = 'file-source';
  readonly #source: FileTableSource;
  readonly #publisher: () => Publisher | null;
  #unsubscribe: (() => void) | null = null;

  /** `source` is already started and ready (the CLI checks the directory before anything binds). */
  constructor(source: FileTableSource, publisher: () => Publisher | null) {
    this.#source = source;
    this.#publisher = publisher;
  }

  start(): Promise<void> {
    this.#unsubscribe = this.#source.subscribe((t) => this.#publisher()?.setTable(t));
    return Promise.resolve();
  }

  ready(): boolean {
    return this.#source.current !== null;
  }

  stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#source.close();
    return Promise.resolve();
  }
}
