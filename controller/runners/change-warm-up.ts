// Runs the route-change pipeline once by itself while the controller is idle, after the initial
// sync and after a storm of agent connections, so the first real change after them is not the
// one that pays for cold code and the storm's garbage (issue 14, ADR 0011 2026-12-07 15:30). The
// steps are the caller's (the translation runner collects the storm's garbage, then re-translates
// the snapshot in force twice, whose result has the same content, so the publisher sends nothing
// and the status writer writes nothing). Each step runs in its own turn of the event loop and
// only when nothing real is in flight (`busy()`: a change waiting for its coalescing window, or
// agents still acknowledging one); a change that arrives during a step waits for that step
// alone, and the steps left are dropped: the change itself runs the same code. Bounded: armed
// once by the initial sync and again only by `minNewAgents` new connections since the last run
// (a route change translated meanwhile disarms it: it ran the code), never two runs closer than
// `minIntervalMs`.

export interface WarmUpStep {
  /** Names the step in the log and the metric. */
  readonly name: string;
  run(): void;
}

export interface ChangeWarmUpOptions {
  /** The steps, in order; each runs alone in one turn of the event loop. */
  steps: readonly WarmUpStep[];
  /** Something real is in flight: no step starts (and a run in progress stops). */
  busy: () => boolean;
  /** Agent connections accepted so far (a storm of them arms a warm-up). */
  connections: () => number;
  /**
   * A number that moves whenever the controller did something (agents acknowledging, statuses
   * compared or written): a run waits until it has stood still for `quietMs`.
   */
  activity?: () => number;
  /** How long nothing may have connected, moved `activity` or been busy before a run (default 1 000 ms). */
  quietMs?: number;
  /** How often to look (default 250 ms). */
  checkMs?: number;
  /** New connections since the last run (or the start) that arm another (default 64). */
  minNewAgents?: number;
  /** Never two runs closer than this (default 10 s). */
  minIntervalMs?: number;
  now?: () => number;
  /** Runs the next step later (default setImmediate; tests step by hand). */
  defer?: (fn: () => void) => void;
  log?: (line: string) => void;
}

export interface WarmUpStats {
  /** Runs started. */
  runs: number;
  /** Runs whose steps all ran. */
  completed: number;
  /** Runs whose remaining steps were dropped because real work arrived. */
  abandoned: number;
  /** Steps run, by name. */
  steps: Record<string, number>;
}

export class ChangeWarmUp {
  readonly #o: Required<Omit<ChangeWarmUpOptions, 'log'>> & Pick<ChangeWarmUpOptions, 'log'>;
  #timer: NodeJS.Timeout | undefined;
  /** A run is wanted: the initial sync happened, or many agents connected since the last run. */
  #armed = false;
  #running = false;
  /** Connections counted when the last run started (or at start). */
  #connectionsAtRun = 0;
  #lastConnections = 0;
  #lastActivityMark = 0;
  /** The last moment something connected or was busy. */
  #lastActivity = -Infinity;
  #lastRun = -Infinity;
  readonly stats: WarmUpStats = { runs: 0, completed: 0, abandoned: 0, steps: {} };

  constructor(opts: ChangeWarmUpOptions) {
    this.#o = {
      quietMs: 1_000, checkMs: 250, minNewAgents: 64, minIntervalMs: 10_000, activity: () => 0,
      now: () => performance.now(), defer: (fn) => void setImmediate(fn), ...opts,
    };
  }

  start(): this {
    this.#lastConnections = this.#connectionsAtRun = this.#o.connections();
    this.#lastActivityMark = this.#o.activity();
    // Unref'd: a pending warm-up never keeps a process that is shutting down alive.
    this.#timer ??= setInterval(() => this.check(), this.#o.checkMs).unref();
    return this;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#armed = false;
  }

  /** The initial sync's translation is done: warm up once things are quiet. */
  synced(): void {
    if (this.stats.runs === 0) this.#armed = true;
  }

  /** A route change was translated: it ran the code itself, so the run owed for the storm before it is dropped. */
  changed(): void {
    this.#armed = false;
    this.#connectionsAtRun = this.#o.connections();
  }

  get armed(): boolean {
    return this.#armed;
  }

  /** One look (the timer calls it; tests call it directly). True when a run started. */
  check(): boolean {
    const now = this.#o.now();
    const connections = this.#o.connections();
    const activity = this.#o.activity();
    if (connections !== this.#lastConnections || activity !== this.#lastActivityMark) {
      this.#lastConnections = connections;
      this.#lastActivityMark = activity;
      this.#lastActivity = now;
    }
    if (connections - this.#connectionsAtRun >= this.#o.minNewAgents) this.#armed = true;
    if (this.#running || !this.#armed) return false;
    if (this.#o.busy()) {
      this.#lastActivity = now;
      return false;
    }
    if (now - this.#lastActivity < this.#o.quietMs || now - this.#lastRun < this.#o.minIntervalMs) return false;
    this.#armed = false;
    this.#running = true;
    this.#lastRun = now;
    this.#connectionsAtRun = connections;
    this.stats.runs++;
    this.#step(0, now);
    return true;
  }

  #step(i: number, startedAt: number): void {
    const steps = this.#o.steps;
    if (i >= steps.length) {
      this.#running = false;
      this.stats.completed++;
      this.#o.log?.(`warm-up: ${steps.map((s) => s.name).join(', ')} run while idle in ${Math.round(this.#o.now() - startedAt)} ms`);
      return;
    }
    if (i > 0 && this.#o.busy()) {
      this.#running = false;
      this.stats.abandoned++;
      this.#o.log?.(`warm-up: stopped before ${steps[i]!.name}: a change is being handled`);
      return;
    }
    const step = steps[i]!;
    try {
      step.run();
      this.stats.steps[step.name] = (this.stats.steps[step.name] ?? 0) + 1;
    } catch (err) {
      this.#running = false;
      this.stats.abandoned++;
      this.#o.log?.(`warm-up: ${step.name} failed: ${(err as Error).message}`);
      return;
    }
    this.#o.defer(() => this.#step(i + 1, startedAt));
  }
}
