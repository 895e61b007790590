// One pod on the test kubelet, from network namespace to teardown, in the order Kubernetes
// uses: volumes, then init containers one at a time (a native sidecar, restartPolicy Always, is
// left running once started and its startupProbe passed), then the app containers together.
// Readiness comes from readinessProbes run from the node. Termination sends SIGTERM to the app
// containers, then to the sidecars in reverse order, within one grace period, then SIGKILL.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BoxApi } from '../box/index.ts';
import type { PodNetwork } from '../net/index.ts';
import { ContainerProcess } from './container.ts';
import { containerArgv } from './images.ts';
import type { ContainerSpec, Pod } from './pod-types.ts';
import { runProbe } from './probes.ts';
import { fieldValue, prepareVolumes } from './volumes.ts';

export interface RunnerContext {
  api: BoxApi;
  nodeName: string;
  podDir: string;
  net: PodNetwork;
  /** KUBERNETES_SERVICE_HOST/PORT, as every kubelet sets them: in-cluster clients need them. */
  apiServerEnv: Record<string, string>;
}

export interface ContainerView {
  spec: ContainerSpec;
  init: boolean;
  process?: ContainerProcess;
  ready: boolean;
  restarts: number;
  waitingReason?: string;
  message?: string;
}

export class PodRunner {
  pod: Pod;
  readonly ctx: RunnerContext;
  readonly containers: ContainerView[];
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' = 'Pending';
  initialized = false;
  terminating = false;
  /** Set when every process is gone and the network torn down. */
  finished: Promise<void> | undefined;
  private volumeDirs = new Map<string, string>();
  private stopped = false;

  constructor(pod: Pod, ctx: RunnerContext) {
    this.pod = pod;
    this.ctx = ctx;
    this.containers = [
      ...(pod.spec.initContainers ?? []).map((spec) => ({ spec, init: true, ready: false, restarts: 0 })),
      ...pod.spec.containers.map((spec) => ({ spec, init: false, ready: false, restarts: 0 })),
    ];
    mkdirSync(join(ctx.podDir, 'logs'), { recursive: true });
  }

  get ip(): string {
    return this.ctx.net.ip;
  }

  logPath(container: string): string {
    return join(this.ctx.podDir, 'logs', `${container}.log`);
  }

  /** Runs the pod until it finishes (Job) or is terminated; never throws (failures become status). */
  async run(): Promise<void> {
    try {
      this.volumeDirs = await prepareVolumes(this.ctx.api, this.pod, join(this.ctx.podDir, 'volumes'), this.ip, this.ctx.nodeName);
      for (const c of this.containers.filter((v) => v.init)) {
        if (this.stopped) return;
        this.start(c);
        if (c.spec.restartPolicy === 'Always') {
          await this.waitStarted(c);
          void this.probeLoop(c);
          continue;
        }
        await c.process?.exited;
        if (c.process?.state.exitCode !== 0) {
          if (!this.stopped) this.phase = 'Failed';
          return;
        }
      }
      if (this.stopped) return;
      this.initialized = true;
      const apps = this.containers.filter((v) => !v.init);
      for (const c of apps) {
        this.start(c);
        void this.probeLoop(c);
      }
      this.phase = 'Running';
      await Promise.all(apps.map((c) => this.superviseApp(c)));
      if (this.stopped) return;
      this.phase = apps.every((c) => c.process?.state.exitCode === 0) ? 'Succeeded' : 'Failed';
      await this.stopSidecars(Date.now() + 5000);
    } catch (err) {
      if (this.stopped) return;
      this.phase = 'Failed';
      const c = this.containers.find((v) => !v.process) ?? this.containers[0];
      if (c) {
        c.waitingReason = 'CreateContainerError';
        c.message = (err as Error).message;
      }
    }
  }

  private start(c: ContainerView): void {
    const argv = containerArgv(c.spec);
    if (!argv) {
      c.waitingReason = 'ErrImagePull';
      throw new Error(`image ${c.spec.image} maps to no local command (see test/cluster/kubelet/images.ts)`);
    }
    const env = this.env(c.spec);
    const expand = (s: string): string => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m);
    c.process = new ContainerProcess(c.spec, this.ctx.net.netns, argv.map(expand), env, this.volumeDirs, this.logPath(c.spec.name));
    c.waitingReason = undefined;
  }

  private env(spec: ContainerSpec): Record<string, string> {
    const env: Record<string, string> = { ...this.ctx.apiServerEnv };
    for (const e of spec.env ?? []) {
      if (e.valueFrom?.fieldRef) env[e.name] = fieldValue(this.pod, e.valueFrom.fieldRef.fieldPath, this.ip, this.ctx.nodeName);
      else env[e.name] = (e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m);
    }
    return env;
  }

  /** A native sidecar counts as started when its startupProbe passes (or at once without one). */
  private async waitStarted(c: ContainerView): Promise<void> {
    const probe = c.spec.startupProbe;
    if (!probe) return;
    const deadline = Date.now() + 120_000;
    while (!this.stopped && c.process?.running && Date.now() < deadline) {
      if (await runProbe(probe, c.spec, this.ip)) return;
      await sleep((probe.periodSeconds ?? 1) * 1000);
    }
    throw new Error(`sidecar ${c.spec.name} did not pass its startupProbe`);
  }

  private async probeLoop(c: ContainerView): Promise<void> {
    const probe = c.spec.readinessProbe;
    if (!probe) {
      c.ready = true;
      return;
    }
    await sleep((probe.initialDelaySeconds ?? 0) * 1000);
    while (!this.stopped && c.process?.running) {
      c.ready = !this.terminating && (await runProbe(probe, c.spec, this.ip));
      await sleep((probe.periodSeconds ?? 10) * 1000);
    }
    c.ready = false;
  }

  /** Waits for an app container to exit; under restartPolicy Always it is restarted (bounded). */
  private async superviseApp(c: ContainerView): Promise<void> {
    for (;;) {
      await c.process?.exited;
      c.ready = false;
      const policy = this.pod.spec.restartPolicy ?? 'Always';
      const failed = c.process?.state.exitCode !== 0;
      if (this.stopped || policy === 'Never' || (policy === 'OnFailure' && !failed) || c.restarts >= 5) return;
      await sleep(1000 * 2 ** c.restarts);
      if (this.stopped) return;
      c.restarts++;
      this.start(c);
      void this.probeLoop(c);
    }
  }

  private async stopSidecars(deadline: number): Promise<void> {
    for (const c of this.containers.filter((v) => v.init && v.process?.running).reverse()) {
      c.process?.signal('SIGTERM');
      await c.process?.exitedWithin(deadline - Date.now());
    }
  }

  /** SIGTERM in Kubernetes order within graceSeconds, SIGKILL what is left; then the network goes. */
  terminate(graceSeconds: number): Promise<void> {
    this.finished ??= (async () => {
      this.terminating = true;
      this.stopped = true;
      const deadline = Date.now() + graceSeconds * 1000;
      const apps = this.containers.filter((v) => !v.init && v.process?.running);
      for (const c of apps) c.process?.signal('SIGTERM');
      await Promise.all(apps.map((c) => c.process?.exitedWithin(deadline - Date.now()) ?? Promise.resolve(true)));
      await this.stopSidecars(deadline);
      for (const c of this.containers) c.process?.signal('SIGKILL');
      await Promise.all(this.containers.map((c) => c.process?.exitedWithin(5000) ?? Promise.resolve(true)));
      await this.ctx.net.destroy();
    })();
    return this.finished;
  }
}
