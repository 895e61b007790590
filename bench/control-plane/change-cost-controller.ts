// The controller side of change-cost.ts: a TranslationRunner and a Publisher in this process
// (forked by change-cost.ts, so the fake apiserver's and the agents' CPU is not counted here),
// with the phases of a route change metered by main-thread CPU (process.threadCpuUsage): the
// provider's snapshot, translation, the publisher's setTable and the status writer's take of the
// routes whose counts moved.
// The parent sends `mark`, makes a change, waits until this process is quiet and sends `mark`
// again: each reply holds the phase totals since the previous mark.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Publisher } from '../../controller/publish/index.ts';
import { KubernetesProvider } from '../../controller/provider/kubernetes/index.ts';
import { startController } from '../../controller/runners/translation-runner.ts';
import { StatusWriter } from '../../controller/status/index.ts';
import { IncrementalTranslator } from '../../controller/translate/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';

export type Phase = 'snapshot' | 'translate' | 'setTable' | 'takeMoved';
export interface PhaseTotals { cpuMs: Record<Phase, number>; calls: Record<Phase, number>; threadMs: number; processMs: number; translations: number; statusesVisited: number; countsAsked: number; writes: number }

const threadMs = (): number => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};
const processMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const totals = { cpuMs: { snapshot: 0, translate: 0, setTable: 0, takeMoved: 0 }, calls: { snapshot: 0, translate: 0, setTable: 0, takeMoved: 0 } };

/** Wraps a prototype method so its synchronous body's main-thread CPU adds to `phase`. */
function meter(proto: object, method: string, phase: Phase): void {
  const p = proto as Record<string, (...a: unknown[]) => unknown>;
  const original = p[method]!;
  p[method] = function metered(this: unknown, ...args: unknown[]): unknown {
    const t0 = threadMs();
    try {
      return original.apply(this, args);
    } finally {
      totals.cpuMs[phase] += threadMs() - t0;
      totals.calls[phase]++;
    }
  };
}

meter(KubernetesProvider.prototype, 'snapshot', 'snapshot');
meter(IncrementalTranslator.prototype, 'translate', 'translate');
meter(Publisher.prototype, 'setTable', 'setTable');
// The writer's pass is async (it awaits each write), so it is not metered as a whole: its take of
// the moved routes is, and what is left of the thread's CPU (`threadMs` less the phases) is the
// pass's loop, the watch events and writes' I/O, and the agents' acks.
meter(StatusWriter.prototype, 'takeMoved', 'takeMoved');

const url = process.argv[2];
if (!url) throw new Error('change-cost-controller: the fake apiserver URL is the first argument');
const publisher = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined });
const ctl = startController({
  client: kubeClientFor({ url } as Parameters<typeof kubeClientFor>[0], 30_000), log: () => undefined, leaderElection: false, defaultMesh: false, publisher,
});

let mark = { threadMs: threadMs(), processMs: processMs(), translations: 0, visited: 0, asked: 0, writes: 0 };
// CHANGE_COST_PROF=<file>: a V8 CPU profile of the metered changes (from `prof` to `stop`).
const profFile = process.env.CHANGE_COST_PROF;
const session = profFile ? new Session() : undefined;
process.on('message', (m: { cmd: 'mark' | 'state' | 'stop' | 'prof' }) => {
  if (m.cmd === 'prof') {
    void (async () => {
      if (session) {
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 200 });
        await session.post('Profiler.start');
      }
      process.send!({ profiling: session !== undefined });
    })();
    return;
  }
  if (m.cmd === 'stop') {
    void (async () => {
      if (session && profFile) writeFileSync(profFile, JSON.stringify((await session.post('Profiler.stop')).profile));
      await ctl.close();
      await publisher.close();
      process.exit(0);
    })();
    return;
  }
  if (m.cmd === 'state') {
    process.send!({ translations: ctl.translations, port: publisher.port, writes: ctl.writer.stats.writes });
    return;
  }
  const s = ctl.writer.stats;
  const now = { threadMs: threadMs(), processMs: processMs(), translations: ctl.translations, visited: s.visited, asked: s.countsAsked, writes: s.writes };
  const out: PhaseTotals = {
    cpuMs: { ...totals.cpuMs }, calls: { ...totals.calls }, threadMs: now.threadMs - mark.threadMs, processMs: now.processMs - mark.processMs,
    translations: now.translations - mark.translations, statusesVisited: now.visited - mark.visited, countsAsked: now.asked - mark.asked, writes: now.writes - mark.writes,
  };
  for (const k of Object.keys(totals.cpuMs) as Phase[]) {
    totals.cpuMs[k] = 0;
    totals.calls[k] = 0;
  }
  mark = now;
  process.send!(out);
});
process.send!({ started: true, port: publisher.port });
