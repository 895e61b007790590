// The publisher's counters, rendered in the Prometheus text format by whoever serves /metrics.
// Counters only ever grow; `agents` is a gauge of the connections that completed their hello.

export interface PublisherMetrics {
  agents: number;
  connectionsTotal: number;
  helloRejectedTotal: number;
  protocolErrorsTotal: number;
  subscribeRequestsTotal: number;
  updatesSentTotal: number;
  patchesSentTotal: number;
  updateBytesTotal: number;
  acksTotal: number;
  nacksTotal: number;
  tablesTotal: number;
}

export function emptyMetrics(): PublisherMetrics {
  return {
    agents: 0, connectionsTotal: 0, helloRejectedTotal: 0, protocolErrorsTotal: 0, subscribeRequestsTotal: 0,
    updatesSentTotal: 0, patchesSentTotal: 0, updateBytesTotal: 0, acksTotal: 0, nacksTotal: 0, tablesTotal: 0,
  };
}

const HELP: Record<keyof PublisherMetrics, [string, 'gauge' | 'counter']> = {
  agents: ['Agents connected (hello completed).', 'gauge'],
  connectionsTotal: ['WebSocket connections accepted.', 'counter'],
  helloRejectedTotal: ['Connections refused at hello (bad message, protocol, authentication, timeout).', 'counter'],
  protocolErrorsTotal: ['Malformed or out-of-order frames received from agents.', 'counter'],
  subscribeRequestsTotal: ['Subscribe and unsubscribe requests.', 'counter'],
  updatesSentTotal: ['Whole table slices sent to agents.', 'counter'],
  patchesSentTotal: ['Slices sent as changes to the version the agent acknowledged.', 'counter'],
  updateBytesTotal: ['Bytes of update and patch frames sent.', 'counter'],
  acksTotal: ['Versions acknowledged by agents.', 'counter'],
  nacksTotal: ['Versions refused by agents (see the controller log for their reasons).', 'counter'],
  tablesTotal: ['Distinct routing tables published.', 'counter'],
};

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function renderMetrics(m: PublisherMetrics, prefix = 'meshlet_publisher_'): string {
  return (Object.keys(HELP) as (keyof PublisherMetrics)[]).map((k) => {
    const name = prefix + snake(k);
    const [help, type] = HELP[k];
    return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${m[k]}\n`;
  }).join('');
}
