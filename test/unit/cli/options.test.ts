import { UsageError } from '../../../src/errors.ts';
import { dockerSizeOption, gogcOption, limitOption, percentOption, verdictListOption } from '../../../src/cli/options.ts';

const MiB = 1024 * 1024;

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

describe('verdictListOption (--fail-on)', () => {
  it('takes verdict names in any case, as the vocabulary spells them', () => {
    expect(verdictListOption('fail-on', 'leak')).toEqual(['Leak']);
    expect(verdictListOption('fail-on', 'LEAK, cachegrowth,Leak')).toEqual(['Leak', 'CacheGrowth']);
    expect(verdictListOption('fail-on', undefined)).toEqual([]);
  });
  it('refuses a list with no verdict in it and a name that is none', () => {
    expect(() => verdictListOption('fail-on', ' , ')).toThrow(/^--fail-on: no verdict given; expected any of Stable, Plateau, CacheGrowth, Leak, InsufficientData$/);
    expect(() => verdictListOption('fail-on', 'Leaky')).toThrow(/^--fail-on: "Leaky" is not a verdict/);
  });
});

describe('percentOption (--headroom)', () => {
  it('refuses an empty value instead of reading it as 0 %', () => {
    expect(() => percentOption('headroom', '')).toThrow(/^--headroom: expected a percentage/);
    expect(percentOption('headroom', '0')).toBe(0);
  });
});

describe('sizes', () => {
  it('run --limit reads sizes as Docker does: 512M is 512 MiB', () => {
    for (const v of ['512m', '512M', '512Mi', '512MiB', '512mb']) expect(dockerSizeOption('limit', v)).toBe(512 * MiB);
    expect(() => dockerSizeOption('limit', 'lots')).toThrow(/^--limit: expected a size as Docker reads it/);
    expect(() => dockerSizeOption('limit', '0')).toThrow(UsageError);
  });

  it('analyze --limit takes what Docker and Kubernetes read alike, or only one of them reads', () => {
    expect(limitOption('limit', '512Mi')).toBe(512 * MiB);
    expect(limitOption('limit', '512m')).toBe(512 * MiB); // a Kubernetes m (thousandths) is never a memory size
    expect(limitOption('limit', '1g')).toBe(1024 * MiB);
    expect(limitOption('limit', '1.5Gi')).toBe(1536 * MiB);
    expect(limitOption('limit', '536870912')).toBe(512 * MiB);
    expect(limitOption('limit', '1e9')).toBe(1e9);
  });

  it('analyze --limit refuses 512M, 1G, 64k (binary to Docker, decimal to Kubernetes), naming both readings', () => {
    expect(() => limitOption('limit', '512M')).toThrow(
      '--limit: "512M" is ambiguous: 512.0 MiB (536870912 bytes) as Docker reads it, 488.3 MiB (512000000 bytes) as a Kubernetes quantity; write 512Mi for the first or 512000000 for the second',
    );
    expect(() => limitOption('limit', '1G')).toThrow(/"1G" is ambiguous: .*write 1Gi for the first or 1000000000 for the second/);
    expect(() => limitOption('limit', '64k')).toThrow(/"64k" is ambiguous: 64.0 KiB \(65536 bytes\) as Docker reads it, 62.5 KiB \(64000 bytes\) as a Kubernetes quantity; write 64Ki/);
    expect(() => limitOption('limit', 'lots')).toThrow(/^--limit: expected a size such as 512Mi, 512m or 1Gi, or bytes, got "lots"$/);
  });
});
