// A meshlet KubeClient (real client-node authentication and watch code underneath) pointed at a
// fake apiserver, with short request timeouts so tests fail fast.
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../controller/provider/kubernetes/index.ts';
import type { FakeApiServer } from './fake-apiserver/index.ts';

export function kubeClientFor(api: FakeApiServer, timeoutMs = 2000): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: api.url, skipTLSVerify: true }],
    users: [{ name: 'fake', token: 'fake-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return new KubeClient(kc, timeoutMs);
}
