// The simulated agents, run as a child process of the benchmark so that their CPU is neither
// the controller's nor the fake apiserver's. Each is a raw WebSocket client speaking api/wire.ts
// as a sidecar does: hello with its subscriptions, ack every update and patch by version,
// answer pings. It does not validate or compile tables (a real agent's cost, not the control
// plane's); what is measured is when each agent acknowledged the frame carrying a change.
// An update or patch is not JSON.parsed: its version is read from the frame's head (the
// controller writes `{"type":"update"|"patch","version":"…"` first, encodeMessage's order) and
// the change's marker is searched for in its bytes; the ack is the bytes an agent sends. All
// 1 000 agents share one core here, and parsing every frame (~8 µs each, profiled) made the
// swarm trail the controller's last write by 10-30 ms at 1 000 agents (issue 14): a cost of
// the simulation, not of the control plane. Any other frame (welcome, ping, error) is parsed.
import WebSocket from 'ws';
import { WIRE_PATH, WIRE_PROTOCOL } from '../../api/wire.ts';
import { ENTRY_RULE } from '../../api/version.ts';
import { tableVersion } from './frame-head.ts';
import { nowMs, type AgentSpec, type SwarmCommand, type SwarmEvent, type SwarmReply } from './swarm-protocol.ts';

interface Armed { marker: string; bytes: Buffer; ackAt: Map<number, number>; timer: NodeJS.Timeout }

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
        // versionRules: as a sidecar's hello says (agent/controller-client), so slices are versioned as a real agent's are.
        type: 'hello', protocol: WIRE_PROTOCOL, auth: { type: 'none' }, targets: spec.targets, versionRules: [ENTRY_RULE],
        agent: { pod: `agent-${spec.index}`, namespace: 'bench', serviceAccount: 'default', mode: 'sidecar' },
      }));
    });
    ws.on('message', (data: Buffer) => {
      let version = tableVersion(data);
      if (version === null) {
        const msg = JSON.parse(data.toString('utf8')) as { type: string; version?: string; nonce?: number; message?: string };
        if (msg.type === 'welcome') welcomed = true;
        if (msg.type === 'ping') return void ws.send(JSON.stringify({ type: 'pong', nonce: msg.nonce }));
        if (msg.type === 'error') return void send({ ev: 'problem', message: `agent ${spec.index} refused: ${msg.message ?? ''}` });
        if (msg.type !== 'update' && msg.type !== 'patch') return;
        version = msg.version ?? '';
      }
      // encodeMessage's bytes for the ack, as agents send it
      ws.send(JSON.stringify({ type: 'ack', version }));
      const at = nowMs();
      if (first) {
        first = false;
        clearTimeout(timer);
        if (keep) agents.set(spec.index, ws);
        else ws.close();
        resolve(at - started);
      }
      if (keep && armed && !armed.ackAt.has(spec.index) && data.includes(armed.bytes)) {
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
      armed = { marker: c.marker, bytes: Buffer.from(c.marker), ackAt: new Map(), timer: setTimeout(finishArmed, c.timeoutMs) };
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
