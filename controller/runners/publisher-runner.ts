// The agent config server (15012) as a runner. Other runners reach the Publisher through
// `publisher` once this one has started (it is first in the list).
import { Publisher, type PublisherOptions } from '../publish/index.ts';
import type { Runner } from './runner.ts';

export class PublisherRunner implements Runner {
  readonly name = 'publisher';
  readonly #opts: PublisherOptions;
  #publisher: Publisher | null = null;

  constructor(opts: PublisherOptions) {
    this.#opts = opts;
  }

  get publisher(): Publisher | null {
    return this.#publisher;
  }

  async start(): Promise<void> {
    this.#publisher = await Publisher.start(this.#opts);
    this.#opts.log?.(`serving agents on ${this.#opts.host ?? '0.0.0.0'}:${this.#publisher.port}`);
  }

  async stop(): Promise<void> {
    await this.#publisher?.close();
  }

  metrics(): string {
    return this.#publisher?.renderMetrics() ?? '';
  }
}
