/**
 * The compiled CLI's ergonomics: --version, shell completion (run by bash itself), exit codes
 * that tell usage errors (2) from not-found (4) and server errors (1), and messages that name
 * the valid choices. Against a fresh data directory on PGlite, and on PostgreSQL when set.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, diagnostics, root, runCertgate } from '../support/cli.ts';
import { drivers, makeTestEnv, type TestEnv } from '../support/context.ts';

const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

describe('certgate --version and completion (no data needed)', () => {
  it('--version and -V print the package version alone, from the compiled entry', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCertgate([flag], process.env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
    // dist/ is what the binary runs (global set-up built it): the build stamp is there.
    expect(Number(readFileSync(join(root, 'dist/.build-stamp'), 'utf8'))).toBeGreaterThan(0);
  });

  it('completion bash: bash completes commands, subcommands, options and option choices', async () => {
    const r = await runCertgate(['completion', 'bash'], process.env);
    expect(r.code, r.stderr).toBe(0);
    const script = join(root, '.tmp', `completion-${process.pid}.bash`);
    execFileSync('mkdir', ['-p', join(root, '.tmp')]);
    writeFileSync(script, r.stdout);
    const complete = (line: string) => {
      const words = line.split(' ');
      const src = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _certgate; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return execFileSync('bash', ['-c', src], { encoding: 'utf8' }).trim().split('\n').sort();
    };
    expect(complete('certgate ce')).toEqual(['cert']);
    expect(complete('certgate cert ')).toEqual(expect.arrayContaining(['issue', 'list', 'revoke', 'show']));
    expect(complete('certgate cert list --st')).toEqual(['--status']);
    expect(complete('certgate cert list --status ')).toEqual(['expired', 'hold', 'revoked', 'valid']);
    expect(complete('certgate --data-dir /tmp cert list --status r')).toEqual(['revoked']);
    expect(complete('certgate acme eab ')).toEqual(expect.arrayContaining(['create', 'list', 'disable']));
  });

  it('completion zsh wraps the same function through bashcompinit; an unknown shell is a usage error listing the shells', async () => {
    const z = await runCertgate(['completion', 'zsh'], process.env);
    expect(z.code).toBe(0);
    expect(z.stdout).toContain('bashcompinit');
    const bad = await runCertgate(['completion', 'fish'], process.env);
    expect(bad.code).toBe(2);
    expect(diagnostics(bad)).toContain('unknown shell "fish"; shells: bash, zsh');
  });

  it('usage errors exit 2: unknown command, unknown option, a bad choice (listed)', async () => {
    const cmd = await runCertgate(['nope'], process.env);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("unknown command 'nope'");
    const choice = await runCertgate(['cert', 'list', '--status', 'gone'], process.env);
    expect(choice.code).toBe(2);
    expect(choice.stderr).toContain('Allowed choices are valid, revoked, hold, expired');
  });
});

describe.each(drivers)('certgate exit codes and choices (%s)', { timeout: 180_000 }, (driver) => {
  let t: TestEnv;
  let env: NodeJS.ProcessEnv;
  const csr = () => {
    const base = join(t.dataDir, 'req');
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', '/CN=a.example'], { stdio: 'pipe' });
    return `${base}.csr`;
  };

  beforeAll(async () => {
    t = await makeTestEnv(driver);
    env = cliEnv(t.dataDir, t.databaseUrl);
    const init = await runCertgate(['init'], env);
    expect(init.code, init.stderr).toBe(0);
  }, 120_000);
  afterAll(() => t.cleanup());

  it('an unknown profile: exit 4, the message lists the profiles there are', async () => {
    const r = await runCertgate(['cert', 'issue', '--csr', csr(), '--profile', 'no-such-profile'], env);
    expect(r.code, r.stderr).toBe(4);
    const msg = diagnostics(r);
    expect(msg).toMatch(/^certgate: unknown profile "no-such-profile"; profiles: .*tls-server/m);
    expect(msg).toContain('tls-client');
    const show = await runCertgate(['profile', 'show', 'no-such-profile'], env);
    expect(show.code).toBe(4);
    expect(diagnostics(show)).toContain('profiles: ');
  });

  it('a missing file: exit 2, "no such file: PATH"', async () => {
    const path = join(t.dataDir, 'absent.csr');
    const r = await runCertgate(['cert', 'issue', '--csr', path, '--profile', 'tls-server'], env);
    expect(r.code).toBe(2);
    expect(diagnostics(r).trim()).toBe(`certgate: no such file: ${path}`);
    const p = await runCertgate(['profile', 'add', '--file', path], env);
    expect(p.code).toBe(2);
    expect(diagnostics(p).trim()).toBe(`certgate: no such file: ${path}`);
  });

  it('a certificate that does not exist: exit 4; a refused request (bad input): exit 2', async () => {
    const r = await runCertgate(['cert', 'show', 'ffffffffffffffff'], env);
    expect(r.code, r.stderr).toBe(4);
    const bad = await runCertgate(['cert', 'list', '--expires-before', 'not-a-date'], env);
    expect(bad.code, bad.stderr).toBe(2);
  });
});
