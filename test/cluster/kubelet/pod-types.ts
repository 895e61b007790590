// The slice of the Pod API the test kubelet reads. Kept loose on purpose: the API server has
// already validated the object, the kubelet only needs these fields.
export interface ProbeSpec {
  httpGet?: { path?: string; port: number | string; scheme?: string };
  tcpSocket?: { port: number | string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe?: ProbeSpec;
  startupProbe?: ProbeSpec;
  restartPolicy?: string;
  securityContext?: { runAsUser?: number; runAsGroup?: number };
}

export interface KeyToPath {
  key: string;
  path: string;
}

export interface VolumeSpec {
  name: string;
  emptyDir?: object;
  configMap?: { name: string; items?: KeyToPath[] };
  projected?: {
    sources: {
      serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string };
      configMap?: { name: string; items?: KeyToPath[] };
      downwardAPI?: { items: { path: string; fieldRef?: { fieldPath: string } }[] };
    }[];
  };
}

export interface Pod {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string; deletionGracePeriodSeconds?: number };
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    restartPolicy?: string;
    terminationGracePeriodSeconds?: number;
    initContainers?: ContainerSpec[];
    containers: ContainerSpec[];
    volumes?: VolumeSpec[];
  };
  status?: { phase?: string; podIP?: string };
}
