// The box's kube-proxy rules and hosts lines, computed purely from Services and EndpointSlices:
// one DNAT per ready endpoint spread evenly, named ports matched by name, headless Services and
// not-ready endpoints skipped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignLoadBalancerIps, dnatRules, hostsLines, rejectRules, type EndpointSliceLike, type ServiceLike } from './net/index.ts';

const svc = (name: string, clusterIP: string, ports: ServiceLike['spec']['ports']): ServiceLike => ({ metadata: { name, namespace: 'shop' }, spec: { clusterIP, ports } });
const slice = (service: string, ports: EndpointSliceLike['ports'], endpoints: EndpointSliceLike['endpoints']): EndpointSliceLike => ({
  metadata: { namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
  ports,
  endpoints,
});

describe('service rules', () => {
  const cases: { name: string; services: ServiceLike[]; slices: EndpointSliceLike[]; rules: string[] }[] = [
    {
      name: 'two ready endpoints: the first taken with probability 1/2, the last always',
      services: [svc('web', '10.96.1.10', [{ name: 'http', port: 80 }])],
      slices: [slice('web', [{ name: 'http', port: 8080 }], [{ addresses: ['10.244.1.3'] }, { addresses: ['10.244.1.2'], conditions: { ready: true } }])],
      rules: [
        '-d 10.96.1.10/32 -p tcp --dport 80 -m statistic --mode random --probability 0.50000 -j DNAT --to-destination 10.244.1.2:8080',
        '-d 10.96.1.10/32 -p tcp --dport 80 -j DNAT --to-destination 10.244.1.3:8080',
      ],
    },
    {
      name: 'a not-ready endpoint gets no traffic',
      services: [svc('web', '10.96.1.10', [{ port: 80 }])],
      slices: [slice('web', [{ port: 8080 }], [{ addresses: ['10.244.1.2'], conditions: { ready: false } }, { addresses: ['10.244.1.3'] }])],
      rules: ['-d 10.96.1.10/32 -p tcp --dport 80 -j DNAT --to-destination 10.244.1.3:8080'],
    },
    {
      name: 'named ports map to the slice port of the same name',
      services: [svc('api', '10.96.1.11', [{ name: 'grpc', port: 9000 }, { name: 'http', port: 80 }])],
      slices: [slice('api', [{ name: 'http', port: 8080 }, { name: 'grpc', port: 9090 }], [{ addresses: ['10.244.1.4'] }])],
      rules: [
        '-d 10.96.1.11/32 -p tcp --dport 9000 -j DNAT --to-destination 10.244.1.4:9090',
        '-d 10.96.1.11/32 -p tcp --dport 80 -j DNAT --to-destination 10.244.1.4:8080',
      ],
    },
    {
      name: "a LoadBalancer Service's ingress IPs get the ClusterIP's rules (hostnames are skipped)",
      services: [{ ...svc('edge', '10.96.1.13', [{ name: 'http', port: 80 }]), status: { loadBalancer: { ingress: [{ ip: '10.245.1.1' }, { hostname: 'lb.example' }] } } }],
      slices: [slice('edge', [{ name: 'http', port: 8080 }], [{ addresses: ['10.244.1.6'] }])],
      rules: [
        '-d 10.96.1.13/32 -p tcp --dport 80 -j DNAT --to-destination 10.244.1.6:8080',
        '-d 10.245.1.1/32 -p tcp --dport 80 -j DNAT --to-destination 10.244.1.6:8080',
      ],
    },
    {
      name: 'headless Services and Services without endpoints get no rules',
      services: [svc('headless', 'None', [{ port: 80 }]), svc('empty', '10.96.1.12', [{ port: 80 }])],
      slices: [slice('headless', [{ port: 80 }], [{ addresses: ['10.244.1.5'] }])],
      rules: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(dnatRules(c.services, c.slices).map((r) => r.join(' ')), c.rules);
    });
  }

  it('ClusterIP ports without a ready endpoint are rejected (as kube-proxy does); served ports and headless Services are not', () => {
    const services = [svc('web', '10.96.1.10', [{ name: 'http', port: 80 }, { name: 'admin', port: 9000 }]), svc('empty', '10.96.1.12', [{ port: 80 }]), svc('headless', 'None', [{ port: 80 }])];
    const slices = [slice('web', [{ name: 'http', port: 8080 }], [{ addresses: ['10.244.1.3'] }]), slice('empty', [{ port: 80 }], [{ addresses: ['10.244.1.9'], conditions: { ready: false } }])];
    assert.deepEqual(rejectRules(services, slices).map((r) => r.join(' ')), [
      '-d 10.96.1.10/32 -p tcp --dport 9000 -j REJECT --reject-with icmp-port-unreachable',
      '-d 10.96.1.12/32 -p tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
    ]);
  });

  it("the box's load balancer gives each LoadBalancer Service without an address the lowest free one; others keep theirs", () => {
    const lb = (name: string, ips: string[]): ServiceLike => ({ ...svc(name, '10.96.1.20', []), spec: { type: 'LoadBalancer', clusterIP: '10.96.1.20' }, status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } } });
    const services = [lb('a', []), svc('plain', '10.96.1.21', []), lb('b', ['10.245.1.1']), lb('c', []), lb('d', ['10.245.1.3'])];
    assert.deepEqual(assignLoadBalancerIps(services, '10.245.1'), [
      { namespace: 'shop', name: 'a', ip: '10.245.1.2' },
      { namespace: 'shop', name: 'c', ip: '10.245.1.4' },
    ]);
  });

  it('hosts lines name every ClusterIP Service with and without the cluster domain', () => {
    assert.deepEqual(hostsLines([svc('web', '10.96.1.10', []), svc('headless', 'None', [])]), ['10.96.1.10 web.shop.svc.cluster.local web.shop.svc']);
  });
});
