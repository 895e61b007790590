// The one shape every part of the controller process has (Envoy Gateway's runners): a name,
// start and stop. The process is a list of runners started in order and stopped in reverse, so
// a later part (the CA, the webhook, the root-CA publisher) joins by being added to the list.
export interface Runner {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Whether this part is ready to serve (the admin port's /ready is the AND of all). */
  ready?(): boolean;
  /** Prometheus text exposition of this part's metrics, if it has any. */
  metrics?(): string;
}

export interface RunningRunners {
  readonly runners: readonly Runner[];
  /** Stops every started runner in reverse order; one failing does not keep the others running. */
  stop(): Promise<void>;
}

/**
 * Starts runners in order. If one fails to start, those already started are stopped (in
 * reverse) and the error is rethrown, so a failed start never leaves a half-running process.
 */
export async function startRunners(runners: readonly Runner[], log: (line: string) => void): Promise<RunningRunners> {
  const started: Runner[] = [];
  const stopAll = async (): Promise<void> => {
    for (const r of [...started].reverse()) {
      try {
        await r.stop();
      } catch (err) {
        log(`${r.name}: stop failed: ${(err as Error).message}`);
      }
    }
    started.length = 0;
  };
  for (const r of runners) {
    try {
      await r.start();
    } catch (err) {
      log(`${r.name}: failed to start: ${(err as Error).message}`);
      await stopAll();
      throw err;
    }
    started.push(r);
  }
  let stopping: Promise<void> | null = null;
  return { runners, stop: () => (stopping ??= stopAll()) };
}
