// The config channel's health as Prometheus metrics on the agent's admin port (issue 11): is
// the controller there, how many subscriptions this agent holds (its slice grows with what the
// app calls, Linkerd's model), and how the tables it sent fared. Alert on connected == 0 for
// long, or on nacks: the agent then runs its last good table (meshlet_proxy_table_info).
import { metric } from '../../common/prometheus.ts';
import type { ControllerClient } from './controller-client.ts';

export function controllerClientMetrics(c: ControllerClient): string {
  const s = c.stats;
  return metric('meshlet_agent_controller_connected', 'gauge', 'Whether the config channel to the controller is up (1) or down (0: the last good table stays in force).', c.connected ? 1 : 0)
    + metric('meshlet_agent_controller_connects_total', 'counter', 'Connections to a controller that completed their hello (reconnects included).', s.connects)
    + metric('meshlet_agent_subscriptions', 'gauge', 'Subscriptions held: destinations the app called and this pod\'s own inbound ports.', c.subscriptions.length)
    + metric('meshlet_agent_subscription_evictions_total', 'counter', 'Destination subscriptions dropped to stay under the per-agent limit.', s.evictions)
    + metric('meshlet_agent_on_demand_timeouts_total', 'counter', 'Destinations the controller did not answer for in time (the connection was refused).', s.onDemandTimeouts)
    + metric('meshlet_agent_config_updates_total', 'counter', 'Routing tables received from the controller, acknowledged (ack) or refused (nack).', [
      { labels: { result: 'ack' }, value: s.acks },
      { labels: { result: 'nack' }, value: s.nacks },
    ])
    + metric('meshlet_agent_config_patches_total', 'counter', 'Routing tables received as changes to the one in force rather than whole.', s.patches)
    + metric('meshlet_agent_config_resumes_total', 'counter', 'Reconnects where the controller confirmed the table in force (named in the hello) instead of sending it again.', s.resumes);
}
