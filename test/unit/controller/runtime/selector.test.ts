import { selectorMatches } from '../../../../src/controller/runtime/kube/selector.ts';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front' };
  it.each([
    [{}, true],
    [{ matchLabels: { app: 'web' } }, true],
    [{ matchLabels: { app: 'db' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['front', 'back'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['front'] }] }, false],
    [{ matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' as const }] }, true],
    [{ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'canary', operator: 'Exists' as const }] }, false],
  ])('%j matches: %s', (selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});
