/**
 * A throw-away PostgreSQL cluster for fault tests (database outage): initdb into a temporary
 * directory, pg_ctl start/stop on a free port of 19500-19599, never the shared cluster on 5432.
 * As root, initdb refuses to run: the cluster is then made and run as the `postgres` user.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ThrowawayCluster {
  port: number;
  /** postgres:// URL of the `postgres` database (create your own in it). */
  url: string;
  start(): void;
  stop(): void;
  destroy(): void;
}

/** The newest PostgreSQL server binaries installed (Debian layout), or undefined. */
export function postgresBinDir(): string | undefined {
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    return versions.length ? join('/usr/lib/postgresql', versions[0], 'bin') : undefined;
  } catch {
    return undefined;
  }
}

async function freePort(from = 19500, to = 19599): Promise<number> {
  for (let p = from + Math.floor(Math.random() * (to - from)), n = 0; n <= to - from; n++, p = p >= to ? from : p + 1) {
    const ok = await new Promise<boolean>((res) => {
      const s = createServer()
        .once('error', () => res(false))
        .listen(p, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (ok) return p;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

export async function startThrowawayCluster(): Promise<ThrowawayCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  const dir = mkdtempSync(join(tmpdir(), 'certgate-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'])), Number(execFileSync('id', ['-g', 'postgres'])));
  }
  const run = (cmd: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : join(bin, cmd), asRoot ? ['-u', 'postgres', '--', join(bin, cmd), ...args] : args, { stdio: 'pipe', cwd: dir });
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const cluster: ThrowawayCluster = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => void run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']),
    stop: () => void run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']),
    destroy: () => {
      try {
        cluster.stop();
      } catch {
        /* not running */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  cluster.start();
  return cluster;
}
