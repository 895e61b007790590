// The benchmark's side of the agent swarm: forks swarm.ts pinned to a CPU list (taskset execs
// node, so the pid held is the swarm's own), sends commands over IPC and resolves their replies.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { AgentSpec, ConnectReply, FreshReply, MarkerEvent, SwarmCommand, SwarmEvent, SwarmReply } from './swarm-protocol.ts';

type Pending = { resolve: (r: SwarmReply) => void; reject: (e: Error) => void };
// Distributive Omit, so each command keeps its own fields without its id.
type Command = SwarmCommand extends infer C ? C extends SwarmCommand ? Omit<C, 'id'> : never : never;

export class Swarm {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Agent disconnects and refusals reported by the swarm (none expected). */
  readonly problems: string[] = [];
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #markers = new Map<string, (e: MarkerEvent) => void>();
  readonly #exited: Promise<void>;

  constructor(cpus: string, onProblem: (message: string) => void = () => undefined) {
    this.child = fork(join(import.meta.dirname, 'swarm.ts'), [], {
      execPath: 'taskset', execArgv: ['-c', cpus, process.execPath], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (this.child.pid === undefined) throw new Error('swarm: fork failed');
    this.pid = this.child.pid;
    this.#exited = new Promise((resolve) => this.child.once('exit', () => {
      for (const p of this.#pending.values()) p.reject(new Error('swarm exited'));
      this.#pending.clear();
      resolve();
    }));
    this.child.on('message', (m: SwarmReply | SwarmEvent) => {
      if ('ev' in m) {
        if (m.ev === 'marker') this.#markers.get(m.marker)?.(m);
        else {
          onProblem(m.message);
          if (this.problems.length < 100) this.problems.push(m.message);
        }
        return;
      }
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (!p) return;
      if (m.ok) p.resolve(m);
      else p.reject(new Error(`swarm: ${m.error}`));
    });
  }

  #request(c: Command): Promise<SwarmReply> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.child.send({ ...c, id });
    });
  }

  async connect(url: string, agents: AgentSpec[], timeoutMs: number, concurrency = 50): Promise<ConnectReply> {
    return await this.#request({ cmd: 'connect', url, agents, concurrency, timeoutMs }) as ConnectReply;
  }

  /**
   * Resolves once the swarm watches for `marker`, with the acks it will see. (Wrapped in an
   * object: an async function returning a promise would wait for that promise too.)
   */
  async arm(marker: string, timeoutMs: number): Promise<{ done: Promise<MarkerEvent> }> {
    const done = new Promise<MarkerEvent>((resolve) => this.#markers.set(marker, (e) => { this.#markers.delete(marker); resolve(e); }));
    await this.#request({ cmd: 'arm', marker, timeoutMs });
    return { done };
  }

  async fresh(url: string, agent: AgentSpec, timeoutMs: number): Promise<number> {
    return (await this.#request({ cmd: 'fresh', url, agent, timeoutMs }) as FreshReply).firstSyncMs;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await Promise.race([this.#request({ cmd: 'close' }).catch(() => undefined), this.#exited]);
    await this.#exited;
    clearTimeout(timer);
  }
}
