// test/cluster/net/: the node's networking for the cluster box: a per-run bridge and pod subnet
// in the host namespace (pods are network namespaces on it), and what kube-proxy and cluster DNS
// do for traffic the mesh does not intercept: ClusterIP DNAT rules from Services and
// EndpointSlices, and per-pod hosts files (bind-mounted by `ip netns exec`) naming every Service;
// and what a cloud's load balancer does: an external address for each LoadBalancer Service.
export { createNodeNetwork, type NodeNetwork, type PodNetwork } from './node-network.ts';
export { startServiceProxy, type ServiceProxy } from './service-proxy.ts';
export { dnatRules, hostsLines, loadBalancerIps, rejectRules, type EndpointSliceLike, type ServiceLike } from './service-rules.ts';
export { assignLoadBalancerIps, startLoadBalancer, type LoadBalancer } from './load-balancer.ts';
