// test/cluster/kubelet/: the cluster box's test kubelet. It registers a Node, binds pending pods
// to it and runs each one as a network namespace on the node bridge (test/cluster/net/): init
// containers, native sidecars, app containers mapped from images to local commands, volumes
// (ConfigMaps, TokenRequest tokens, downward API), probes from the node, status, and deletion in
// Kubernetes' SIGTERM order within the grace period. It is a harness, not a kubelet
// reimplementation: what it does not support fails the pod with a message saying so.
export { startKubelet, type Kubelet, type KubeletOptions } from './kubelet.ts';
export { ECHO_IMAGE, TOOLBOX_IMAGE, containerArgv } from './images.ts';
export { PodRunner } from './pod-runner.ts';
export type { Pod } from './pod-types.ts';
