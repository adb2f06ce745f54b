/**
 * The data directory as real processes share it (issue: a second `serve` split the embedded
 * database; the CLI created a CA by accident):
 * - only `serve` and `init` create a data directory; any other command with no data says where it
 *   looked and how to point it elsewhere, exits 2 and creates nothing;
 * - `serve` holds `<dataDir>/lock` for its life: a second `serve` refuses naming the PID, writes
 *   and deletes nothing; the CLI goes through the running server, never opening the files;
 * - a lock left by a crash (kill -9), or naming a PID reused by another process, is stale.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/certgate.mjs');

let dir: string;
let env: NodeJS.ProcessEnv;
const children: ChildProcess[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function certgate(args: string[], cwd = root, extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
}

interface Server {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  info: { pid: number; url: string; token: string; instance: string };
}

async function serve(dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, [bin, 'serve', '--no-https', '--data-dir', dataDir], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const file = join(dataDir, 'server.json');
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${out}`);
    try {
      const info = JSON.parse(readFileSync(file, 'utf8'));
      if (info.pid === child.pid && (await fetch(`${info.url}/readyz`)).ok) return { child, output: () => out, exited, info };
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The kernel's start time of a PID (field 22 of /proc/<pid>/stat), as the lock records it. */
function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-datadir-'));
  const { DATABASE_URL: _pg, CERTGATE_DATA_DIR: _dd, ...rest } = process.env;
  env = { ...rest, CERTGATE_LOG_LEVEL: 'warn', CERTGATE_HOST: '127.0.0.1', CERTGATE_HTTP_PORT: '0', CERTGATE_HTTPS_PORT: '0' };
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('only serve and init create a data directory', { timeout: 120_000 }, () => {
  it.each([
    [['token', 'create', '--role', 'administrator']],
    [['issuer', 'list']],
    [['cert', 'list']],
    [['migrate']],
    [['acme', 'eab', 'list']],
    [['emca-client', 'list']],
  ])('certgate %j in an empty directory: exit 2, names where it looked and how to point elsewhere, creates nothing', async (args) => {
    const cwd = mkdtempSync(join(dir, 'empty-'));
    const r = await certgate(args, cwd);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(join(cwd, 'data'));
    expect(r.stderr).toContain('--data-dir');
    expect(r.stderr).toContain('CERTGATE_DATA_DIR');
    expect(r.stderr).toContain('certgate init');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('an existing but empty directory given with --data-dir is left empty too', async () => {
    const d = mkdtempSync(join(dir, 'given-'));
    const r = await certgate(['token', 'create', '--role', 'auditor', '--data-dir', d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no Certgate database in ${d}`);
    expect(readdirSync(d)).toEqual([]);
  });

  it('init creates it; then token create (--data-dir before or after the subcommand) works without a server', async () => {
    const d = join(dir, 'initialised');
    const init = await certgate(['init', '--data-dir', d]);
    expect(init.code, init.stderr).toBe(0);
    expect(readdirSync(d).sort()).toEqual(['db', 'kek']);
    const a = await certgate(['token', 'create', '--role', 'auditor', '--data-dir', d]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^eyJ/);
    const b = await certgate(['--data-dir', d, 'issuer', 'list']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('dev-issuing');
    // The CLI released its lock.
    expect(existsSync(join(d, 'lock'))).toBe(false);
  });
});

describe('the data directory lock', { timeout: 240_000 }, () => {
  let dataDir: string;
  let first: Server;

  beforeAll(async () => {
    dataDir = join(dir, 'shared');
    first = await serve(dataDir);
  }, 180_000);

  it('the running server holds the lock, naming its PID and start time', () => {
    const lock = JSON.parse(readFileSync(join(dataDir, 'lock'), 'utf8'));
    expect(lock).toMatchObject({ pid: first.child.pid, role: 'serve', start: startTime(first.child.pid!) });
  });

  it('a second serve on the same directory refuses, naming the PID; it writes and deletes nothing', async () => {
    const before = readFileSync(join(dataDir, 'server.json'), 'utf8');
    const files = readdirSync(dataDir).sort();
    const r = await certgate(['serve', '--no-https', '--data-dir', dataDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`in use by PID ${first.child.pid} (certgate serve`);
    expect(readFileSync(join(dataDir, 'server.json'), 'utf8')).toBe(before);
    expect(readdirSync(dataDir).sort()).toEqual(files);
    expect((await fetch(`${first.info.url}/readyz`)).status).toBe(200);
  });

  it('the CLI goes through the running server: what it writes, the server sees at once', async () => {
    const add = await certgate(['operator', 'add', 'lock-check', '--role', 'officer', '--data-dir', dataDir]);
    expect(add.code, add.stderr).toBe(0);
    // Had the CLI opened the PGlite files itself, the server's own instance would not see the row.
    const res = await fetch(`${first.info.url}/api/v1/operators`, { headers: { Authorization: `Bearer ${first.info.token}` } });
    const names = ((await res.json()) as { name: string }[]).map((o) => o.name);
    expect(names).toContain('lock-check');
  });

  it('after kill -9 the lock is stale: a new serve takes it over and replaces the handle', async () => {
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(join(dataDir, 'lock'))).toBe(true);
    const second = await serve(dataDir);
    expect(JSON.parse(readFileSync(join(dataDir, 'lock'), 'utf8')).pid).toBe(second.child.pid);
    expect(second.info.instance).not.toBe(first.info.instance);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    // It removed its own lock and handle on the way out.
    expect(existsSync(join(dataDir, 'lock'))).toBe(false);
    expect(existsSync(join(dataDir, 'server.json'))).toBe(false);
  });

  it('a lock naming a live PID reused by another program, or with another start time, is stale', async () => {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(sleeper);
    await new Promise((r) => setTimeout(r, 100));
    const cases = [
      // A non-certgate process with the recorded start time.
      { pid: sleeper.pid, start: startTime(sleeper.pid!), role: 'serve', command: 'serve', since: new Date().toISOString() },
      // This (live) test process, but not the start time recorded.
      { pid: process.pid, start: '1', role: 'serve', command: 'serve', since: new Date().toISOString() },
    ];
    for (const lock of cases) {
      writeFileSync(join(dataDir, 'lock'), JSON.stringify(lock));
      const r = await certgate(['issuer', 'list', '--data-dir', dataDir]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('dev-issuing');
      expect(existsSync(join(dataDir, 'lock'))).toBe(false);
    }
    sleeper.kill('SIGKILL');
  });

  it('a lock held by a live certgate process is respected: a serve refuses', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'certgate-lock-holder'], { stdio: 'ignore' });
    children.push(holder);
    await new Promise((r) => setTimeout(r, 200));
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'lock'), JSON.stringify({ pid: holder.pid, start: startTime(holder.pid!), role: 'serve', command: 'serve', since: new Date().toISOString() }));
    const r = await certgate(['serve', '--no-https', '--data-dir', dataDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`in use by PID ${holder.pid}`);
    holder.kill('SIGKILL');
  });
});
