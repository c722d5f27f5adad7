import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main.ts';
import { freeLoopbackPort } from '../../helpers/prometheus.ts';

function capture() {
  let out = '';
  let err = '';
  const io = {
    stdout: new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }),
    stderr: new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }),
  };
  return { io, out: () => out, err: () => err };
}

async function scan(...args: string[]) {
  const c = capture();
  const code = await main(['scan', ...args], c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

const URL_ = ['--prometheus-url', 'http://127.0.0.1:9'];

describe('memaudit scan: usage', () => {
  it('prints its help', async () => {
    const r = await scan('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: memaudit scan --prometheus-url URL/);
    expect(r.stdout).toContain('--fail-on VERDICTS');
  });

  it.each([
    [[], /^memaudit: --prometheus-url: required/],
    [['--prometheus-url', 'prom:9090'], /^memaudit: --prometheus-url: expected an http:\/\/ or https:\/\/ URL, got "prom:9090"\n$/],
    [[...URL_, '--step', '90'], /^memaudit: --step: expected a duration such as 30s, 1m, 6h or 7d, got "90"\n$/],
    [[...URL_, '--step', '500ms'], /^memaudit: --step: expected whole seconds of at least 1s, got "500ms"\n$/],
    [[...URL_, '--step', '2h', '--history', '1h'], /^memaudit: --step: 2h is not shorter than --history 1h\n$/],
    [[...URL_, '--history', 'week'], /^memaudit: --history: expected a duration/],
    [[...URL_, '--end', 'yesterday'], /^memaudit: --end: expected RFC 3339 \(2026-11-30T12:00:00Z\) or unix seconds, got "yesterday"\n$/],
    [[...URL_, '--selector', 'a~b'], /^memaudit: --selector: expected =, !=, =~ or !~ after a\n$/],
    [[...URL_, '--namespace', 'Shop'], /^memaudit: --namespace: "Shop" is not a namespace name\n$/],
    [[...URL_, '-o', 'text'], /^memaudit: -o\/--output: expected table, json, yaml, csv, html, got "text"\n$/],
    [[...URL_, '--header', 'nocolon'], /^memaudit: --header: expected 'NAME: VALUE', got "nocolon"\n$/],
    [[...URL_, '--cert-file', '/etc/hostname'], /^memaudit: --cert-file: a client certificate needs both --cert-file and --key-file\n$/],
    [[...URL_, '--bearer-token-file', '/nonexistent/token'], /^memaudit: --bearer-token-file: cannot read \/nonexistent\/token: ENOENT\n$/],
    [[...URL_, '--bearer-token', 't', '--basic-auth', 'u:p'], /^memaudit: --bearer-token: bearer token and basic auth exclude each other\n$/],
    [[...URL_, '--basic-auth', 'nopassword'], /^memaudit: --basic-auth: expected USER:PASSWORD\n$/],
    [[...URL_, '--concurrency', '0'], /^memaudit: --concurrency: expected a whole number from 1 to 64/],
    [[...URL_, '--fail-on', 'Leaky'], /^memaudit: --fail-on: "Leaky" is not a verdict/],
  ])('%j is a usage error naming the option (exit 2)', async (args, message) => {
    const r = await scan(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stdout).toBe('');
  });

  it('says so, exit 69, when nothing answers at the URL', async () => {
    const port = await freeLoopbackPort();
    const r = await scan('--prometheus-url', `http://127.0.0.1:${port}`, '--timeout', '5s');
    expect(r.code).toBe(69);
    expect(r.stderr).toBe(`memaudit: cannot list the namespaces with container_memory_usage_bytes: http://127.0.0.1:${port}/api/v1/label/namespace/values container_memory_usage_bytes{namespace!="",container!="",container!="POD"}: ECONNREFUSED\n`);
  });
});
