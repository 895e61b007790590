// The parts of Kubernetes objects the injector reads and writes. Deliberately loose (index
// signatures): a pod is passed through as the JSON the API server sent, and every field we do
// not know must survive injection untouched.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface HttpGetAction { path?: string; port: number | string; host?: string; scheme?: string; httpHeaders?: { name: string; value: string }[]; [key: string]: unknown }
export interface TcpSocketAction { port: number | string; host?: string; [key: string]: unknown }
export interface GrpcAction { port: number; service?: string; [key: string]: unknown }

export interface Probe {
  httpGet?: HttpGetAction;
  tcpSocket?: TcpSocketAction;
  grpc?: GrpcAction;
  exec?: unknown;
  timeoutSeconds?: number;
  [key: string]: unknown;
}

export interface ContainerPort { name?: string; containerPort: number; protocol?: string; [key: string]: unknown }

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  restartPolicy?: string;
  [key: string]: unknown;
}

export interface Volume { name: string; [key: string]: unknown }

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  hostNetwork?: boolean;
  [key: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec: PodSpec;
  [key: string]: unknown;
}
