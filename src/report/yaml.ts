import { stringify } from 'yaml';
import type { TargetRef } from '../model/sample.ts';
import type { AuditResult } from '../model/verdict.ts';
import { toJsonObject } from './json.ts';

export function renderYaml(result: AuditResult, target?: TargetRef): string {
  return stringify(toJsonObject(result, target));
}
