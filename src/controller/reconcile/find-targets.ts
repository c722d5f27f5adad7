// Step "findTargets": the containers an audit samples now (of the running, scheduled pods its
// selector matches in its own namespace), and the evidence of those that went away marked Gone.
import { EventReason } from '../api/conditions.ts';
import { selectorMatches } from '../runtime/kube/selector.ts';
import type { Pod } from '../runtime/kube/types.ts';
import type { Round } from './round.ts';

export type Target = { pod: Pod; container: string };

/**
 * `pods`: the informer's pods of the audit's namespace, taken by name, so a cap always keeps the
 * same ones. `noTargetsMessage` is what the Ready condition says when nothing is sampled.
 */
export function findTargets(round: Round, pods: readonly Pod[], maxTargets: number): { targets: Target[]; noTargetsMessage: string } {
  const { audit, spec } = round;
  const targets: Target[] = [];
  let skipped = 0;
  const matching = pods.filter((p) => selectorMatches(spec.selector, p.metadata.labels));
  for (const pod of matching.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    if (pod.metadata.deletionTimestamp || pod.status?.phase !== 'Running' || !pod.spec?.nodeName) {
      skipped++;
      continue;
    }
    for (const c of pod.spec.containers) {
      if (spec.containers && !spec.containers.includes(c.name)) continue;
      if (targets.length >= maxTargets) skipped++;
      else targets.push({ pod, container: c.name });
    }
  }
  markGone(round, targets);
  const sel = [...Object.entries(spec.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`), ...(spec.selector.matchExpressions ?? []).map((e) => `${e.key} ${e.operator} ${(e.values ?? []).join(',')}`)].join(', ') || '(everything)';
  const containers = spec.containers ? ` with container ${spec.containers.join(' or ')}` : '';
  return { targets, noTargetsMessage: `No running pod in namespace ${audit.metadata.namespace} matches ${sel}${containers}${skipped ? ` (${skipped} matching pods are not running or not scheduled)` : ''}.` };
}

/** A target without a live pod keeps its evidence until the window passes it; a new pod of the same name starts over. */
function markGone({ evidence: ev, nowMs, events }: Round, targets: Target[]): void {
  const live = new Map(targets.map((t) => [`${t.pod.metadata.name}/${t.container}`, t]));
  for (const [tk, t] of ev.targets) {
    const cur = live.get(tk);
    if (cur && t.podUid && cur.pod.metadata.uid && cur.pod.metadata.uid !== t.podUid) {
      // Same name, new pod (a StatefulSet replica): its memory starts over.
      ev.targets.delete(tk);
    } else if (!cur && t.goneSinceMs === undefined) {
      t.goneSinceMs = nowMs;
      ev.dirty = true;
      events.push({ type: 'Normal', reason: EventReason.TargetGone, message: `Pod ${t.pod} (container ${t.container}) is gone; its ${t.samplesTaken} samples are kept until the window passes.` });
    } else if (cur && t.goneSinceMs !== undefined) {
      t.goneSinceMs = undefined;
    }
  }
}
