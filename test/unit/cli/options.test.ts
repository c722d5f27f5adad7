import { UsageError } from '../../../src/errors.ts';
import { gogcOption } from '../../../src/cli/options.ts';

describe('gogcOption', () => {
  it('reads GOGC as Go does, a percentage', () => {
    expect(gogcOption(undefined)).toBeUndefined();
    expect(gogcOption('100')).toBe(100);
    expect(gogcOption('400')).toBe(400);
  });
  it.each(['off', '', '0', '-5', '1.5', '1e3', '20000'])('refuses %j, naming the option', (v) => {
    expect(() => gogcOption(v)).toThrow(UsageError);
    expect(() => gogcOption(v)).toThrow(/^--gogc: expected GOGC as a percentage/);
  });
});
