/**
 * Packaging, as far as this machine allows: the systemd unit passes `systemd-analyze verify` and
 * scores OK in `systemd-analyze security`; the image's layout — compiled dist/, bin, scripts,
 * drizzle, package.json, no TypeScript sources — runs (`--version`, `init`, a command through
 * the in-process admin API), which is what the Dockerfile's runtime stage copies; and the image
 * builds and is inspected when a Docker daemon answers (skipped with the reason otherwise).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from '../support/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'certgate-packaging-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

describe('systemd unit', () => {
  const unit = readFileSync(join(root, 'packaging/certgate.service'), 'utf8');

  it.skipIf(!has('systemd-analyze', ['--version']))('systemd-analyze verify accepts it; security scores it OK (exposure below 2)', () => {
    // Checked with this machine's node where the unit says /usr/bin/node (verify wants the executable to exist).
    const file = join(tmp, 'certgate.service');
    writeFileSync(file, unit.replace('/usr/bin/node', process.execPath));
    const verify = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    expect(`${verify.stdout}${verify.stderr}`.trim()).toBe('');
    expect(verify.status).toBe(0);
    const sec = spawnSync('systemd-analyze', ['security', '--offline=true', file], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for certgate\.service: ([\d.]+)/.exec(sec.stdout)?.[1]);
    expect(score, sec.stdout.slice(-500)).toBeLessThan(2);
  });

  it('names the hardening the issue asks for: a dedicated user, NoNewPrivileges, ProtectSystem=strict, writes only to the data directory', () => {
    const lines = unit.split('\n');
    for (const line of ['User=certgate', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/certgate']) expect(lines).toContain(line);
    expect(unit).toMatch(/^Environment=CERTGATE_DATA_DIR=\/var\/lib\/certgate\b/m);
  });
});

describe('the installed layout (what the Dockerfile runtime stage copies)', { timeout: 240_000 }, () => {
  it('runs from dist/ without TypeScript sources: --version, init (migrations from the package root), issuer list', () => {
    const app = join(tmp, 'app');
    for (const part of ['dist', 'bin', 'scripts', 'drizzle', 'package.json']) cpSync(join(root, part), join(app, part), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
    const data = join(tmp, 'data');
    const { DATABASE_URL: _pg, ...base } = process.env;
    const env = { ...base, CERTGATE_DATA_DIR: data, CERTGATE_LOG_LEVEL: 'warn', CERTGATE_FROM_SOURCE: '' };
    const run = (...args: string[]) => spawnSync(process.execPath, [join(app, 'bin/certgate.mjs'), ...args], { env, encoding: 'utf8', cwd: tmp });
    const version = run('--version');
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
    const init = run('init');
    expect(init.status, init.stderr).toBe(0);
    const list = run('issuer', 'list', '--json');
    expect(list.status, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { id: string }[]).map((i) => i.id).sort()).toEqual(['dev-issuing', 'dev-root']);
    // No tsx on this path: the sources are not there to compile.
    expect(list.stderr).not.toMatch(/tsx|\.ts\b/);
  });
});

describe('Dockerfile', { timeout: 1_800_000 }, () => {
  const daemon = has('docker', ['info']);
  if (!daemon) console.warn('packaging: docker build skipped: no Docker daemon answers `docker info` on this machine');

  it('is multi-stage, runs as a non-root user, keeps data in a volume, checks /readyz', () => {
    const f = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(f.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(f).toMatch(/^USER certgate$/m);
    expect(f).toMatch(/^VOLUME \["\/var\/lib\/certgate"\]$/m);
    expect(f).toMatch(/^HEALTHCHECK [\s\S]*\/readyz/m);
  });

  it.skipIf(!daemon)('docker build succeeds; the image runs --version as a non-root user with a healthcheck', () => {
    const tag = `certgate-test:${process.pid}`;
    execFileSync('docker', ['build', '-t', tag, root], { stdio: 'inherit' });
    try {
      const cfg = JSON.parse(execFileSync('docker', ['image', 'inspect', tag, '--format', '{{json .Config}}'], { encoding: 'utf8' }));
      expect(cfg.User).toBe('certgate');
      expect(cfg.Healthcheck.Test.join(' ')).toContain('/readyz');
      expect(Object.keys(cfg.Volumes)).toEqual(['/var/lib/certgate']);
      expect(execFileSync('docker', ['run', '--rm', tag, '--version'], { encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+$/);
    } finally {
      spawnSync('docker', ['image', 'rm', '-f', tag], { stdio: 'ignore' });
    }
  });
});
