{{/*
The controller's RBAC rules: exactly those of config/rbac/role.yaml, split by scope so that a
namespace-scoped install can put the namespaced ones in a Role. test/unit/chart/rbac.test.ts renders
the chart and compares with config/rbac/, so the two cannot drift apart.
*/}}

{{/* Namespaced resources, first part (in config/rbac/role.yaml's order). */}}
{{- define "memaudit.rules.audits" -}}
# runtime/informers.ts (list/watch); reconcile/write-status.ts writes results through the status subresource only.
- apiGroups: [memaudit.io]
  resources: [memoryaudits]
  verbs: [get, list, watch]
- apiGroups: [memaudit.io]
  resources: [memoryaudits/status]
  verbs: [patch]
# runtime/informers.ts: the pods an audit selects.
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch]
{{- if eq .Values.pprof.access "proxy" }}
# sampling/pod-pprof.ts, --pprof-access proxy: heap profiles through the API server (config/rbac-proxy/).
- apiGroups: [""]
  resources: [pods/proxy]
  verbs: [get]
{{- end }}
{{- end }}

{{/* Cluster-scoped: nodes can only be granted by a ClusterRole. */}}
{{- define "memaudit.rules.nodes" -}}
# sampling/kubelet.ts, --kubelet-access direct: the node's address (nodes get), then the kubelet's own
# /metrics/cadvisor, which the kubelet authorizes as nodes/metrics.
- apiGroups: [""]
  resources: [nodes]
  verbs: [get]
- apiGroups: [""]
  resources: [nodes/metrics]
  verbs: [get]
{{- if eq .Values.kubelet.access "proxy" }}
# sampling/kubelet.ts, --kubelet-access proxy: /api/v1/nodes/N/proxy/metrics/cadvisor. nodes/proxy also
# reaches the kubelet's /exec, /run and /attach: granted only when asked for (config/rbac-proxy/).
- apiGroups: [""]
  resources: [nodes/proxy]
  verbs: [get]
{{- end }}
{{- end }}

{{/* Namespaced resources, second part. */}}
{{- define "memaudit.rules.writes" -}}
# evidence-store.ts: one evidence ConfigMap per audit, in the audit's namespace.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, create, update, delete]
# reconcile/emit-events.ts
- apiGroups: [""]
  resources: [events]
  verbs: [create]
# patch.ts, reconcile/decide-action.ts (action: Patch): Pod -> ReplicaSet -> Deployment; StatefulSet; DaemonSet.
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get, patch]
{{- end }}

{{/* runtime/leader.ts: the Lease in the controller's own namespace (config/rbac/leader_election_role.yaml). */}}
{{- define "memaudit.rules.leaderElection" -}}
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, create, update]
{{- end }}
