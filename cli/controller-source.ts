// `--controller URL` for `meshlet agent` and `meshlet ingress`: the ControllerClient built from
// flags and the pod's environment (downward API: POD_NAME, POD_NAMESPACE, POD_SERVICE_ACCOUNT).
// The process does not wait for the controller to start: until the first table arrives the
// admin /ready answers 503, and the client keeps retrying in the background.
import { hostname } from 'node:os';
import type { AgentMode, SubscriptionTarget } from '../api/wire.ts';
import { ControllerClient } from '../agent/controller-client/index.ts';
import { UsageError } from './usage-error.ts';

export interface ControllerSourceFlags {
  controller: string;
  mode: AgentMode;
  pod?: string | undefined;
  namespace: string;
  serviceAccount?: string | undefined;
  targets?: SubscriptionTarget[];
  log: (line: string) => void;
}

export function controllerSource(f: ControllerSourceFlags): ControllerClient {
  let url: URL;
  try {
    url = new URL(f.controller);
  } catch {
    throw new UsageError(`--controller wants a ws:// or wss:// URL, got '${f.controller}'`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new UsageError(`--controller wants a ws:// or wss:// URL, got '${f.controller}'`);
  return new ControllerClient({
    url: f.controller,
    agent: {
      pod: f.pod ?? process.env.POD_NAME ?? hostname(),
      namespace: f.namespace,
      serviceAccount: f.serviceAccount ?? process.env.POD_SERVICE_ACCOUNT ?? 'default',
      mode: f.mode,
    },
    targets: f.targets ?? [],
    log: f.log,
  }).start();
}
