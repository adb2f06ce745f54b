/** Starts Certgate as a child process on loopback (PGlite, or a fresh PostgreSQL database) for a fuzz run. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';

export interface Certgate {
  db: 'pglite' | 'postgres';
  baseUrl: string;
  adminToken: string;
  pid: number;
  logFile: string;
  /** Resident set size in bytes (from /proc), or 0 when gone. */
  rss(): number;
  alive(): boolean;
  stop(): Promise<void>;
}

export async function startCertgate(db: 'pglite' | 'postgres', port: number): Promise<Certgate> {
  const dataDir = mkdtempSync(join(tmpdir(), 'certgate-fuzz-'));
  let databaseUrl: string | undefined;
  let dropDb = async () => {};
  if (db === 'postgres') {
    const base = new URL(process.env.DATABASE_URL!);
    const name = `certgate_fuzz_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const admin = postgres(base.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const u = new URL(base.toString());
    u.pathname = `/${name}`;
    databaseUrl = u.toString();
    dropDb = async () => {
      const a = postgres(base.toString(), { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await a.end();
    };
  }
  const logFile = join(dataDir, 'server.log');
  const log = createWriteStream(logFile);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CERTGATE_DATA_DIR: dataDir,
    CERTGATE_HOST: '127.0.0.1',
    CERTGATE_HTTP_PORT: String(port),
    CERTGATE_HTTPS_PORT: String(port + 1),
    CERTGATE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    CERTGATE_LOG_LEVEL: 'warn',
    CERTGATE_ACCESS_LOG: 'errors',
    // As `npm start` runs it: glibc's per-thread malloc arenas (worker threads, libuv pool) otherwise fragment into
    // hundreds of MB of RSS that the JS heap does not show.
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
  };
  delete env.DATABASE_URL;
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const child: ChildProcess = spawn(process.execPath, [...(process.env.FUZZ_NODE_FLAGS ? process.env.FUZZ_NODE_FLAGS.split(' ') : []), 'bin/certgate.mjs', 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`certgate exited with ${child.exitCode} during start; see ${logFile}:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (Date.now() > deadline) throw new Error('certgate did not become ready within 180 s');
    const ok = await fetch(`${baseUrl}/readyz`).then((r) => r.ok, () => false);
    if (ok) {
      try {
        const info = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { token: string };
        if (info.token) {
          return {
            db,
            baseUrl,
            adminToken: info.token,
            pid: child.pid!,
            logFile,
            rss: () => {
              try {
                const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
                return m ? Number(m[1]) * 1024 : 0;
              } catch {
                return 0;
              }
            },
            alive: () => child.exitCode === null && child.signalCode === null,
            async stop() {
              if (child.exitCode === null && child.signalCode === null) {
                const exited = new Promise((r) => child.once('exit', r));
                child.kill('SIGTERM');
                const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
                await exited;
                clearTimeout(t);
              }
              log.end();
              await dropDb();
              if (!process.env.CERTGATE_FUZZ_KEEP) rmSync(dataDir, { recursive: true, force: true });
            },
          };
        }
      } catch {
        /* server.json not written yet */
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
