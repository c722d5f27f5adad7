// The few fields of core objects the controller reads, as the API server sends them (JSON, dates
// as strings). Kept minimal on purpose: client-node's generated models type dates as Date, which
// raw JSON does not give.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface ResourceRequirements {
  limits?: Record<string, string>;
  requests?: Record<string, string>;
}

export interface ContainerSpec {
  name: string;
  resources?: ResourceRequirements;
  ports?: { containerPort: number; name?: string; protocol?: string }[];
}

export interface Pod extends KubeObject {
  spec?: { nodeName?: string; containers: ContainerSpec[] };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: {
      name: string;
      ready?: boolean;
      restartCount?: number;
      containerID?: string;
      state?: { running?: { startedAt?: string }; waiting?: { reason?: string }; terminated?: { reason?: string; exitCode?: number } };
      lastState?: { terminated?: { reason?: string; exitCode?: number; containerID?: string; startedAt?: string; finishedAt?: string } };
    }[];
  };
}

export interface PodTemplateOwner extends KubeObject {
  spec?: { template?: { spec?: { containers?: ContainerSpec[] } } };
}

export interface List<T> {
  metadata?: { resourceVersion?: string };
  items: T[];
}
