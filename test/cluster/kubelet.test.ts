// The test kubelet and the box's service networking, against the real control plane: a
// Deployment becomes Running and Ready pods with IPs on the node bridge, its Service's ClusterIP
// answers by name from another pod and from the node (iptables DNAT from EndpointSlices), a Job
// completes, projected TokenRequest tokens and ConfigMaps appear at their mount paths, and a
// deleted pod gets SIGTERM and is gone within its grace period. Needs root.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { execCommand } from '../support/netns-exec.ts';
import { eventually, startBox, type Box, type BoxApi } from './box/index.ts';
import { ECHO_IMAGE, startKubelet, TOOLBOX_IMAGE, type Kubelet } from './kubelet/index.ts';
import { createNodeNetwork, startServiceProxy, type NodeNetwork, type ServiceProxy } from './net/index.ts';

type PodObj = {
  metadata: { name: string; uid: string };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; state: Record<string, unknown> }[] };
};

let box: Box | undefined;
let net: NodeNetwork | undefined;
let proxy: ServiceProxy | undefined;
let kubelet: Kubelet | undefined;
const ns = 'kubelet-test';

function step(name: string, fn: () => Promise<void>, timeout = 90_000): void {
  it(name, { timeout }, async () => {
    try {
      await fn();
    } catch (err) {
      box?.noteFailure(name);
      throw err;
    }
  });
}

const api = (): BoxApi => (box as Box).admin;

async function create(path: string, body: unknown): Promise<void> {
  const res = await api().post(path, body);
  assert.equal(res.status, 201, `POST ${path}: ${JSON.stringify(res.body)}`);
}

async function pods(selector: string): Promise<PodObj[]> {
  return ((await api().get(`/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`)).body as { items: PodObj[] }).items;
}

const isReady = (p: PodObj): boolean => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** Runs argv inside a pod's network namespace, with its hosts file: what `kubectl exec` gives. */
async function execIn(pod: string, argv: string[]): Promise<string> {
  const runner = kubelet?.runner(ns, pod);
  assert.ok(runner, `pod ${pod} runs on the test kubelet`);
  return (await execCommand(['ip', 'netns', 'exec', runner.ctx.net.netns, ...argv], { timeoutMs: 15_000 })).stdout;
}

/** One GET on a fresh connection: a pooled one opened before the DNAT rules existed would be reused. */
function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false, timeout: 3000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text)).on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 3 s`)));
    req.on('error', reject);
  });
}

const fetchScript = (url: string): string[] => [process.execPath, '-e', `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) }).then((r) => r.text()).then((t) => process.stdout.write(t))`];

describe('test kubelet and service networking on the real control plane', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    net = await createNodeNetwork();
    box = await startBox({ apiServerBindAddress: net.gateway, serviceClusterIpRange: net.serviceCidr });
    proxy = await startServiceProxy(box.clientFor('system:kube-proxy', []).api, net);
    kubelet = await startKubelet({ box, net, proxy });
    await create('/api/v1/namespaces', { metadata: { name: ns } });
    await eventually(`default ServiceAccount in ${ns}`, async () => ((await api().get(`/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200 ? true : undefined), 60_000);
  }, { timeout: 5 * 60_000 });

  after(async () => {
    // Each layer is stopped even if an earlier one fails to, so nothing outlives the run.
    for (const stop of [() => kubelet?.stop(), () => proxy?.stop(), () => box?.stop(), () => net?.destroy()]) {
      try {
        await stop();
      } catch (err) {
        process.stderr.write(`teardown: ${(err as Error).message}\n`);
      }
    }
  });

  step('the kubelet registered a Ready Node with the run\'s pod CIDR', async () => {
    const res = await api().get('/api/v1/nodes/box-node');
    assert.equal(res.status, 200);
    const nodeObj = res.body as { spec: { podCIDR: string }; status: { conditions: { type: string; status: string }[] } };
    assert.equal(nodeObj.spec.podCIDR, net?.podCidr);
    assert.ok(nodeObj.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
  });

  step('a Deployment of the echo image becomes Running, Ready pods with IPs on the pod subnet', async () => {
    await create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: 'echo' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'echo' } },
        template: {
          metadata: { labels: { app: 'echo' } },
          spec: {
            containers: [{
              name: 'echo',
              image: ECHO_IMAGE,
              ports: [{ name: 'http', containerPort: 8080 }],
              env: [
                { name: 'PORT', value: '8080' },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              ],
              readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1 },
            }],
          },
        },
      },
    });
    await create(`/api/v1/namespaces/${ns}/services`, { metadata: { name: 'echo' }, spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
    const ready = await eventually('2 Running, Ready echo pods', async () => {
      const list = await pods('app=echo');
      return list.length === 2 && list.every((p) => p.status.phase === 'Running' && isReady(p)) ? list : undefined;
    }, 60_000);
    for (const p of ready) {
      assert.match(p.status.podIP ?? '', new RegExp(`^${(net as NodeNetwork).subnet.replace(/\./g, '\\.')}\\.\\d+$`));
      // The probe ran from the node to the pod IP; the node can reach it too, and the downward
      // API gave the process its own pod name.
      assert.equal((JSON.parse(await getText(`http://${p.status.podIP}:8080/`)) as { pod: string }).pod, p.metadata.name);
    }
  });

  step("the Service's ClusterIP answers from the node and, by name, from another pod", async () => {
    const svc = (await api().get(`/api/v1/namespaces/${ns}/services/echo`)).body as { spec: { clusterIP: string } };
    const names = new Set((await pods('app=echo')).map((p) => p.metadata.name));
    const fromNode = await eventually('the ClusterIP to answer from the node', async () => {
      return JSON.parse(await getText(`http://${svc.spec.clusterIP}/`)) as { pod: string };
    }, 30_000);
    assert.ok(names.has(fromNode.pod), `${fromNode.pod} is one of ${[...names].join(', ')}`);
    await create(`/api/v1/namespaces/${ns}/pods`, { metadata: { name: 'client' }, spec: { containers: [{ name: 'sleep', image: TOOLBOX_IMAGE, command: ['sleep', '600'] }] } });
    await eventually('the client pod Running', async () => ((await pods('')).find((p) => p.metadata.name === 'client' && p.status.phase === 'Running') ? true : undefined), 30_000);
    for (const host of [`echo.${ns}.svc.cluster.local`, `echo.${ns}.svc`]) {
      const body = await eventually(`http://${host}/ from the client pod`, async () => JSON.parse(await execIn('client', fetchScript(`http://${host}/`))) as { pod: string; host: string }, 30_000);
      assert.ok(names.has(body.pod), `${body.pod} is one of ${[...names].join(', ')}`);
      assert.equal(body.host, host);
    }
  });

  step('a Job completes: its pod Succeeded when its container exited 0', async () => {
    await create(`/apis/batch/v1/namespaces/${ns}/jobs`, {
      metadata: { name: 'once' },
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: TOOLBOX_IMAGE, command: ['sh', '-c', 'echo working; exit 0'] }] } } },
    });
    const job = await eventually('the Job Complete', async () => {
      const j = (await api().get(`/apis/batch/v1/namespaces/${ns}/jobs/once`)).body as { status: { succeeded?: number; conditions?: { type: string; status: string }[] } };
      return j.status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
    }, 60_000);
    assert.equal(job.status.succeeded, 1);
    const [pod] = await pods('batch.kubernetes.io/job-name=once');
    assert.equal(pod?.status.phase, 'Succeeded');
  });

  step("the meshlet image runs this repository's meshlet (the image the injector renders)", async () => {
    await create(`/api/v1/namespaces/${ns}/pods`, {
      metadata: { name: 'meshlet-version' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'meshlet', image: 'meshlet/meshlet:0.1.0', args: ['version'] }] },
    });
    await eventually('the meshlet pod Succeeded', async () => ((await pods('')).find((p) => p.metadata.name === 'meshlet-version' && p.status.phase === 'Succeeded') ? true : undefined), 60_000);
    const runner = kubelet?.runner(ns, 'meshlet-version');
    assert.ok(runner);
    assert.match(readFileSync(runner.logPath('meshlet'), 'utf8'), /^meshlet \d+\.\d+\.\d+/m);
  });

  step('a projected TokenRequest token (its audience) and a ConfigMap appear at their mount paths', async () => {
    await create(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'settings' }, data: { greeting: 'hello from a ConfigMap' } });
    await create(`/api/v1/namespaces/${ns}/pods`, {
      metadata: { name: 'volumes' },
      spec: {
        restartPolicy: 'Never',
        containers: [{
          name: 'read',
          image: TOOLBOX_IMAGE,
          command: ['sh', '-c', 'cat /var/run/secrets/tokens/mesh-token; echo; cat /run/config/greeting'],
          volumeMounts: [{ name: 'token', mountPath: '/var/run/secrets/tokens', readOnly: true }, { name: 'config', mountPath: '/run/config' }],
        }],
        volumes: [
          { name: 'token', projected: { sources: [{ serviceAccountToken: { audience: 'meshlet-box-test', expirationSeconds: 900, path: 'mesh-token' } }] } },
          { name: 'config', configMap: { name: 'settings' } },
        ],
      },
    });
    await eventually('the volumes pod Succeeded', async () => ((await pods('')).find((p) => p.metadata.name === 'volumes' && p.status.phase === 'Succeeded') ? true : undefined), 60_000);
    const runner = kubelet?.runner(ns, 'volumes');
    assert.ok(runner);
    const [token = '', greeting] = readFileSync(runner.logPath('read'), 'utf8').split('\n');
    assert.equal(greeting, 'hello from a ConfigMap');
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { aud: string[]; exp: number; iat: number; 'kubernetes.io': { pod: { name: string } } };
    assert.deepEqual(claims.aud, ['meshlet-box-test']);
    assert.equal(claims.exp - claims.iat, 900);
    assert.equal(claims['kubernetes.io'].pod.name, 'volumes', 'the token is bound to the pod');
    const review = await api().post('/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: ['meshlet-box-test'] } });
    assert.equal((review.body as { status: { authenticated?: boolean; user?: { username: string } } }).status.user?.username, `system:serviceaccount:${ns}:default`);
  });

  step('a pod reaches the API server in-cluster: KUBERNETES_SERVICE_HOST, the automounted token and CA', async () => {
    // What every in-cluster client does (the controller among them): the env the kubelet sets,
    // the ServiceAccount volume the admission plugin added, the `kubernetes` Service's ClusterIP.
    const script = [
      "const fs = require('fs'); const d = '/var/run/secrets/kubernetes.io/serviceaccount/';",
      "const req = require('https').request({ method: 'POST', host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', ca: fs.readFileSync(d + 'ca.crt'),",
      "  headers: { authorization: 'Bearer ' + fs.readFileSync(d + 'token', 'utf8'), 'content-type': 'application/json' } }, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => console.log(JSON.parse(b).status.userInfo.username + ' ' + fs.readFileSync(d + 'namespace', 'utf8'))); });",
      "req.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));",
    ].join('\n');
    await create(`/api/v1/namespaces/${ns}/pods`, {
      metadata: { name: 'in-cluster' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'client', image: TOOLBOX_IMAGE, command: [process.execPath, '-e', script] }] },
    });
    const phase = await eventually('the in-cluster pod finished', async () => {
      const p = (await pods('')).find((x) => x.metadata.name === 'in-cluster');
      return p?.status.phase === 'Succeeded' || p?.status.phase === 'Failed' ? p.status.phase : undefined;
    }, 60_000);
    const runner = kubelet?.runner(ns, 'in-cluster');
    assert.ok(runner);
    const out = readFileSync(runner.logPath('client'), 'utf8');
    assert.equal(phase, 'Succeeded', out);
    assert.equal(out.trim(), `system:serviceaccount:${ns}:default ${ns}`);
  });

  step('deleting a pod sends SIGTERM and the pod is gone within its grace period', async () => {
    await create(`/api/v1/namespaces/${ns}/pods`, {
      metadata: { name: 'doomed' },
      spec: { terminationGracePeriodSeconds: 5, containers: [{ name: 'echo', image: ECHO_IMAGE, env: [{ name: 'PORT', value: '8080' }] }] },
    });
    await eventually('the doomed pod Running', async () => ((await pods('')).find((p) => p.metadata.name === 'doomed' && p.status.phase === 'Running') ? true : undefined), 30_000);
    const runner = kubelet?.runner(ns, 'doomed');
    assert.ok(runner);
    await eventually('the echo serving', () => Promise.resolve(readFileSync(runner.logPath('echo'), 'utf8').includes('"serving"') ? true : undefined), 15_000);
    const deleted = Date.now();
    const res = await api().request('DELETE', `/api/v1/namespaces/${ns}/pods/doomed`);
    assert.equal(res.status, 200);
    await eventually('the pod object gone', async () => ((await api().get(`/api/v1/namespaces/${ns}/pods/doomed`)).status === 404 ? true : undefined), 10_000, 100);
    assert.ok(Date.now() - deleted < 5000 + 1000, `gone ${Date.now() - deleted} ms after the delete (grace 5 s)`);
    const log = readFileSync(runner.logPath('echo'), 'utf8');
    assert.match(log, /"signal":"SIGTERM"/, 'the container saw SIGTERM');
  });
  step('a native sidecar runs through the later init containers and the app; on delete the app gets SIGTERM before the sidecar', async () => {
    const log = '/run/order/log';
    const loopUntilTerm = (who: string): string => `trap 'echo ${who}-term >> ${log}; exit 0' TERM; echo ${who}-start >> ${log}; while :; do sleep 0.1; done`;
    await create(`/api/v1/namespaces/${ns}/pods`, {
      metadata: { name: 'ordered' },
      spec: {
        terminationGracePeriodSeconds: 10,
        initContainers: [
          { name: 'sidecar', image: TOOLBOX_IMAGE, restartPolicy: 'Always', command: ['sh', '-c', loopUntilTerm('sidecar')], volumeMounts: [{ name: 'order', mountPath: '/run/order' }] },
          // A later init container sees the sidecar already running (bounded wait).
          { name: 'setup', image: TOOLBOX_IMAGE, command: ['timeout', '10', 'sh', '-c', `until grep -q sidecar-start ${log}; do sleep 0.05; done; echo setup >> ${log}`], volumeMounts: [{ name: 'order', mountPath: '/run/order' }] },
        ],
        containers: [{ name: 'app', image: TOOLBOX_IMAGE, command: ['sh', '-c', loopUntilTerm('app')], volumeMounts: [{ name: 'order', mountPath: '/run/order' }] }],
        volumes: [{ name: 'order', emptyDir: {} }],
      },
    });
    const runner = kubelet?.runner(ns, 'ordered') ?? (await eventually('the ordered pod on the kubelet', () => Promise.resolve(kubelet?.runner(ns, 'ordered')), 30_000));
    const orderLog = `${runner.ctx.podDir}/volumes/order/log`;
    const read = (): string[] => readFileSync(orderLog, 'utf8').trim().split('\n');
    await eventually('the app started', () => Promise.resolve(read().includes('app-start') ? true : undefined), 30_000);
    type InitStatus = { name: string; state: Record<string, unknown> };
    const statuses = await eventually('the pod Running', async () => {
      const pod = (await api().get(`/api/v1/namespaces/${ns}/pods/ordered`)).body as { status: { phase: string; initContainerStatuses?: InitStatus[] } };
      return pod.status.phase === 'Running' ? pod.status.initContainerStatuses : undefined;
    }, 15_000);
    assert.deepEqual(statuses?.map((c) => [c.name, Object.keys(c.state)[0]]), [['sidecar', 'running'], ['setup', 'terminated']]);
    assert.equal((await api().request('DELETE', `/api/v1/namespaces/${ns}/pods/ordered`)).status, 200);
    await eventually('the ordered pod gone', async () => ((await api().get(`/api/v1/namespaces/${ns}/pods/ordered`)).status === 404 ? true : undefined), 15_000, 100);
    assert.deepEqual(read(), ['sidecar-start', 'setup', 'app-start', 'app-term', 'sidecar-term']);
  });

  step('a container that ignores SIGTERM is killed when the grace period ends', async () => {
    await create(`/api/v1/namespaces/${ns}/pods`, {
      metadata: { name: 'stubborn' },
      spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'stay', image: TOOLBOX_IMAGE, command: ['sh', '-c', "trap '' TERM; echo up; while :; do sleep 0.1; done"] }] },
    });
    await eventually('the stubborn pod Running', async () => ((await pods('')).find((p) => p.metadata.name === 'stubborn' && p.status.phase === 'Running') ? true : undefined), 30_000);
    const runner = kubelet?.runner(ns, 'stubborn');
    assert.ok(runner);
    await eventually('the container up', () => Promise.resolve(readFileSync(runner.logPath('stay'), 'utf8').includes('up') ? true : undefined), 15_000);
    assert.equal((await api().request('DELETE', `/api/v1/namespaces/${ns}/pods/stubborn`)).status, 200);
    await eventually('the stubborn pod gone', async () => ((await api().get(`/api/v1/namespaces/${ns}/pods/stubborn`)).status === 404 ? true : undefined), 10_000, 100);
    assert.equal(runner.containers[0]?.process?.state.signal, 'SIGKILL', 'SIGTERM was ignored, so the grace period ended in SIGKILL');
  });
});
