/**
 * Stopping `certgate serve` as an operator or a supervisor does (issue: `kill -TERM` to `npm start`
 * left node running; a SIGTERM just after listening exited 143 with no drain):
 * - `npm start` stops cleanly on SIGTERM or SIGINT, whether npm or node receives it, exit 0;
 * - a SIGTERM during start-up (handlers are installed before anything opens) ends in a clean exit 0;
 * - a request in flight when SIGTERM arrives is finished before the process exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
let dir: string;
let dataDir: string;
let env: NodeJS.ProcessEnv;
const children: ChildProcess[] = [];

function start(cmd: string, args: string[]) {
  const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, exited, output: () => out };
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, output: () => string, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: timed out\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The running server's handle once it answers. */
async function running(output: () => string): Promise<{ pid: number; url: string; token: string }> {
  return until(
    'server start',
    async () => {
      try {
        const info = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8'));
        return (await fetch(`${info.url}/healthz`)).ok ? info : undefined;
      } catch {
        return undefined;
      }
    },
    output,
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-shutdown-'));
  dataDir = join(dir, 'data');
  const { DATABASE_URL: _pg, ...rest } = process.env;
  env = { ...rest, CERTGATE_DATA_DIR: dataDir, CERTGATE_LOG_LEVEL: 'info', CERTGATE_HOST: '127.0.0.1', CERTGATE_HTTP_PORT: '0', CERTGATE_HTTPS_PORT: '0' };
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('shutdown', { timeout: 240_000 }, () => {
  it('SIGTERM during start-up (the data directory half made) stops it cleanly: exit 0, lock released', async () => {
    const s = start(process.execPath, ['bin/certgate.mjs', 'serve', '--no-https']);
    await until('lock taken', () => (existsSync(join(dataDir, 'lock')) ? true : undefined), s.output);
    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dataDir, 'lock'))).toBe(false);
    expect(existsSync(join(dataDir, 'server.json'))).toBe(false);
  });

  it.each([
    ['npm', 'SIGTERM'],
    ['node', 'SIGTERM'],
    ['npm', 'SIGINT'],
    ['node', 'SIGINT'],
  ] as const)('npm start: %s gets %s → node drains and exits, npm exits 0', async (target, signal) => {
    const s = start('npm', ['start', '--silent', '--', '--no-https']);
    const info = await running(s.output);
    expect(info.pid).not.toBe(s.child.pid);
    process.kill(target === 'npm' ? s.child.pid! : info.pid, signal);
    expect(await s.exited).toEqual({ code: 0, signal: null });
    await until('node gone', () => (alive(info.pid) ? undefined : true), s.output, 5_000);
    expect(s.output()).toContain('"msg":"stopped"');
    expect(existsSync(join(dataDir, 'lock'))).toBe(false);
  });

  it('a request in flight when SIGTERM arrives is answered before the process exits 0', async () => {
    const s = start(process.execPath, ['bin/certgate.mjs', 'serve', '--no-https']);
    const info = await running(s.output);
    const body = JSON.stringify({ role: 'auditor', name: 'in-flight' });
    const sock = connect(Number(new URL(info.url).port), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    let answer = '';
    sock.setEncoding('utf8').on('data', (d: string) => (answer += d));
    sock.write(
      `POST /api/v1/tokens HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${info.token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    s.child.kill('SIGTERM');
    await until('shutdown begun', () => (s.output().includes('shutting down') ? true : undefined), s.output, 10_000);
    // Still serving the request it had begun to read; no new connection is accepted.
    expect(s.child.exitCode).toBeNull();
    const refused = await fetch(`${info.url}/healthz`).then(
      () => false,
      () => true,
    );
    expect(refused).toBe(true);
    sock.write(body.slice(10));
    await until('answer', () => (answer.includes('\r\n\r\n') ? true : undefined), s.output, 10_000);
    expect(answer).toMatch(/^HTTP\/1\.1 201 /);
    sock.end();
    expect(await s.exited).toEqual({ code: 0, signal: null });
  });
});
