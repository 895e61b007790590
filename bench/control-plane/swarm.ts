// The simulated agents, run as a child process of the benchmark so that their CPU is neither
// the controller's nor the fake apiserver's. Each is a raw WebSocket client speaking api/wire.ts
// as a sidecar does: hello with its subscriptions, ack every update and patch by version,
// answer pings. It does not validate or compile tables (a real agent's cost, not the control
// plane's); what is measured is when each agent acknowledged the frame carrying a change.
import WebSocket from 'ws';
import { WIRE_PATH, WIRE_PROTOCOL } from '../../api/wire.ts';
import { nowMs, type AgentSpec, type SwarmCommand, type SwarmEvent, type SwarmReply } from './swarm-protocol.ts';

interface Armed { marker: string; ackAt: Map<number, number>; timer: NodeJS.Timeout }

const agents = new Map<number, WebSocket>();
let armed: Armed | null = null;

function send(msg: SwarmReply | SwarmEvent): void {
  process.send?.(msg);
}

function finishArmed(): void {
  if (!armed) return;
  const a = armed;
  armed = null;
  clearTimeout(a.timer);
  send({ ev: 'marker', marker: a.marker, ackAtMs: [...a.ackAt.values()], missing: agents.size - a.ackAt.size });
}

/** Opens one agent; resolves with the time from dialling to acking its first slice. */
function openAgent(url: string, spec: AgentSpec, timeoutMs: number, keep: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const ws = new WebSocket(`${url}${WIRE_PATH}`, { perMessageDeflate: false });
    let first = true;
    let welcomed = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`agent ${spec.index}: no slice within ${timeoutMs} ms (${welcomed ? 'welcomed' : ws.readyState === WebSocket.OPEN ? 'connected, no welcome' : 'not connected'})`));
    }, timeoutMs);
    ws.on('open', () => {
      ws.send(JSON.stringify({
        type: 'hello', protocol: WIRE_PROTOCOL, auth: { type: 'none' }, targets: spec.targets,
        agent: { pod: `agent-${spec.index}`, namespace: 'bench', serviceAccount: 'default', mode: 'sidecar' },
      }));
    });
    ws.on('message', (data: Buffer) => {
      const text = data.toString("utf8");
      const msg = JSON.parse(text) as { type: string; version?: string; nonce?: number; message?: string };
      if (msg.type === 'welcome') welcomed = true;
      if (msg.type === 'ping') return void ws.send(JSON.stringify({ type: 'pong', nonce: msg.nonce }));
      if (msg.type === 'error') return void send({ ev: 'problem', message: `agent ${spec.index} refused: ${msg.message ?? ''}` });
      if (msg.type !== 'update' && msg.type !== 'patch') return;
      ws.send(JSON.stringify({ type: 'ack', version: msg.version }));
      const at = nowMs();
      if (first) {
        first = false;
        clearTimeout(timer);
        if (keep) agents.set(spec.index, ws);
        else ws.close();
        resolve(at - started);
      }
      if (keep && armed && !armed.ackAt.has(spec.index) && text.includes(armed.marker)) {
        armed.ackAt.set(spec.index, at);
        if (armed.ackAt.size >= agents.size) finishArmed();
      }
    });
    ws.on('error', (err) => { clearTimeout(timer); reject(err); });
    ws.on('close', (code: number, reason: Buffer) => {
      if (keep && agents.get(spec.index) === ws) {
        agents.delete(spec.index);
        send({ ev: 'problem', message: `agent ${spec.index} disconnected (${code} ${reason.toString('utf8')})` });
        // the change may now be complete without this agent: do not wait for the timeout
        if (armed && armed.ackAt.size >= agents.size) finishArmed();
      }
    });
  });
}

async function connectAll(c: Extract<SwarmCommand, { cmd: 'connect' }>): Promise<SwarmReply> {
  const started = nowMs();
  const firstSyncMs: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < c.agents.length) {
      const spec = c.agents[next++]!;
      try {
        firstSyncMs.push(await openAgent(c.url, spec, c.timeoutMs, true));
      } catch (err) {
        // counted and reported; the others go on (one stuck agent must not void the run)
        failures.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(c.concurrency, c.agents.length) }, worker));
  return { id: c.id, ok: true, connected: agents.size, firstSyncMs, failures, wallMs: nowMs() - started };
}

async function handle(c: SwarmCommand): Promise<SwarmReply> {
  switch (c.cmd) {
    case 'connect': return connectAll(c);
    case 'arm':
      finishArmed();
      armed = { marker: c.marker, ackAt: new Map(), timer: setTimeout(finishArmed, c.timeoutMs) };
      return { id: c.id, ok: true };
    case 'fresh': return { id: c.id, ok: true, firstSyncMs: await openAgent(c.url, c.agent, c.timeoutMs, false) };
    case 'close':
      for (const ws of agents.values()) ws.terminate();
      agents.clear();
      setImmediate(() => process.exit(0));
      return { id: c.id, ok: true };
  }
}

process.on('message', (c: SwarmCommand) => {
  handle(c).then(send, (err: unknown) => send({ id: c.id, ok: false, error: (err as Error).message }));
});
process.on('disconnect', () => process.exit(0));
