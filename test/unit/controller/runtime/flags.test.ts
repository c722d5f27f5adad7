import { controllerConfigFromArgs, parseListen } from '../../../../src/controller/runtime/flags.ts';
import { UsageError } from '../../../../src/errors.ts';

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

describe('controller flags', () => {
  it('parses flags once into a config', () => {
    const r = controllerConfigFromArgs(['--kubeconfig', '/k', '--listen', '127.0.0.1:9090', '--kubelet-access', 'direct', '--kubelet-timeout', '3s', '--leader-elect-lease-duration', '20s', '--state-sync-period', '0s'], { POD_NAME: 'memaudit-0', POD_NAMESPACE: 'ops' });
    if (r.help) throw new Error('unexpected help');
    expect(r.config).toMatchObject({ kubeconfig: '/k', listen: { host: '127.0.0.1', port: 9090 }, kubeletAccess: 'direct', kubeletTimeoutMs: 3000, stateSyncPeriodMs: 0 });
    expect(r.config.leaderElection).toMatchObject({ enabled: true, namespace: 'ops', leaseName: 'memaudit-controller', leaseDurationMs: 20_000 });
    expect(r.config.leaderElection.identity).toMatch(/^memaudit-0_[0-9a-f]{8}$/);
  });

  it('has one shard by default, and with --shards the home shard from the StatefulSet ordinal of $POD_NAME', () => {
    const config = (argv: string[], podName?: string) => {
      const r = controllerConfigFromArgs(argv, podName ? { POD_NAME: podName } : {});
      if (r.help) throw new Error('unexpected help');
      return r.config;
    };
    expect(config([], 'memaudit-controller-2')).toMatchObject({ shards: 1, homeShard: 0 });
    expect(config(['--shards', '3'], 'memaudit-controller-4')).toMatchObject({ shards: 3, homeShard: 1 });
    // A Deployment's pod: the hash of its name (fnv1a32 = 488452960, mod 3 = 1).
    expect(config(['--shards=3'], 'memaudit-controller-7d9f8c6b5-x2kqz')).toMatchObject({ shards: 3, homeShard: 1 });
    expect(config(['--shards=3'])).toMatchObject({ shards: 3, homeShard: null });
    expect(() => config(['--shards', '0'])).toThrow(/--shards: expected a positive integer/);
    expect(() => config(['--shards', '2', '--no-leader-elect'])).toThrow(/--shards: more than one shard needs leader election/);
  });

  it('refuses bad values naming the flag', () => {
    expect(() => controllerConfigFromArgs(['--kubelet-access', 'ssh'], {})).toThrow(/--kubelet-access: expected proxy or direct/);
    expect(() => controllerConfigFromArgs(['--leader-elect-renew-deadline', '30s'], {})).toThrow(/renew-deadline must be shorter/);
    expect(() => controllerConfigFromArgs(['--bogus'], {})).toThrow(/controller: Unknown option '--bogus'/);
    expect(() => parseListen('8080')).toThrow(/--listen/);
    expect(parseListen(':8080')).toEqual({ host: '0.0.0.0', port: 8080 });
  });
});

describe('controller --prometheus-*', () => {
  const prometheus = (argv: string[]) => {
    const r = controllerConfigFromArgs(argv, {});
    if (r.help) throw new Error('help');
    return r.config.prometheus;
  };

  it('is off without --prometheus-url; with it, the connection and the selector for every series', () => {
    expect(prometheus([])).toBeNull();
    expect(prometheus(['--prometheus-url', 'http://prometheus.monitoring:9090', '--prometheus-selector', 'cluster="prod"', '--prometheus-header', 'X-Scope-OrgID: t1', '--prometheus-timeout', '10s'])).toEqual({
      url: 'http://prometheus.monitoring:9090/',
      bearerTokenFile: null,
      basicAuthFile: null,
      caFile: null,
      insecureSkipTlsVerify: false,
      headers: { 'x-scope-orgid': 't1' },
      selector: [{ name: 'cluster', op: '=', value: 'prod' }],
      timeoutMs: 10_000,
    });
  });

  it.each([
    [['--prometheus-url', 'prometheus:9090'], /^--prometheus-url: expected an http:\/\/ or https:\/\/ URL, got "prometheus:9090"$/],
    [['--prometheus-selector', 'cluster=prod'], /^--prometheus-selector: needs --prometheus-url$/],
    [['--prometheus-url', 'http://p', '--prometheus-selector', 'a~b'], /^--prometheus-selector: expected =, !=, =~ or !~ after a$/],
    [['--prometheus-url', 'http://p', '--prometheus-header', 'x'], /^--prometheus-header: expected 'NAME: VALUE', got "x"$/],
    [['--prometheus-url', 'http://p', '--prometheus-bearer-token-file', '/t', '--prometheus-basic-auth-file', '/b'], /^--prometheus-bearer-token-file: give it or --prometheus-basic-auth-file, not both$/],
    [['--prometheus-url', 'http://p', '--prometheus-timeout', 'soon'], /^--prometheus-timeout: expected a duration/],
  ])('%j is refused, naming the flag', (argv, message) => {
    expect(() => prometheus(argv as string[])).toThrow(UsageError);
    expect(() => prometheus(argv as string[])).toThrow(message as RegExp);
  });
});
