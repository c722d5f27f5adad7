import { controllerConfigFromArgs } from '../../../src/controller/config.ts';
import { UsageError } from '../../../src/errors.ts';

const namespaces = (argv: string[]) => {
  const r = controllerConfigFromArgs(argv, {});
  if (r.help) throw new Error('help');
  return r.config.namespaces;
};

describe('memaudit controller --namespace', () => {
  it('is all namespaces by default, one or several otherwise (comma-separated or repeated, without duplicates)', () => {
    expect(namespaces([])).toEqual([]);
    expect(namespaces(['--namespace', 'shop'])).toEqual(['shop']);
    expect(namespaces(['--namespace=shop,payments', '--namespace', 'ops,shop'])).toEqual(['shop', 'payments', 'ops']);
  });

  it('refuses a name that is not a namespace, naming the flag and the value', () => {
    expect(() => namespaces(['--namespace', 'shop,Payments'])).toThrow(UsageError);
    expect(() => namespaces(['--namespace', 'shop,Payments'])).toThrow(/^--namespace: "Payments" is not a namespace name/);
    expect(() => namespaces(['--namespace', 'a'.repeat(64)])).toThrow(/is not a namespace name/);
  });
});
