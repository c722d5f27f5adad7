import type { ObjectMeta } from '../api/v1alpha1.ts';

/**
 * The few fields of core objects the controller reads, as the API server sends them (JSON, dates
 * as strings). Kept minimal on purpose: client-node's generated models type dates as Date, which
 * raw JSON does not give.
 */
export interface Meta extends ObjectMeta {
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
}

export interface ResourceRequirements {
  limits?: Record<string, string>;
  requests?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface ContainerSpec {
  name: string;
  image?: string;
  resources?: ResourceRequirements;
  env?: EnvVar[];
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

export interface Node extends KubeObject {
  status?: {
    addresses?: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}

export interface PodTemplateOwner extends KubeObject {
  spec?: { template?: { spec?: { containers?: ContainerSpec[] } } };
}

export interface List<T> {
  metadata?: { resourceVersion?: string };
  items: T[];
}
