import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile } from './support.ts';

/**
 * Benchmarks that measure Certgate over HTTP (emCA, EST, CMP) run it as its own process, so the
 * server's CPU is not the load generator's: start it, wait for it, stop it, and drive a load.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export interface BenchServer {
  child: ChildProcess;
  /** http://127.0.0.1:<port> */
  base: string;
  httpsPort?: number;
  /** The local administrator token from server.json. */
  token: string;
  /** The development root, PEM. */
  root: string;
}

/**
 * `certgate serve` on PGlite in `dataDir`, or on PostgreSQL at `url`; HTTPS only when asked.
 * `profDirEnv` names an environment variable that, when set, gives a --cpu-prof directory.
 */
export async function startCertgate(dataDir: string, url: string | undefined, opts: { https?: boolean; profDirEnv?: string; env?: Record<string, string> } = {}): Promise<BenchServer> {
  const httpPort = await freePort();
  const httpsPort = opts.https ? await freePort() : undefined;
  const base = `http://127.0.0.1:${httpPort}`;
  const env: NodeJS.ProcessEnv = { ...process.env, CERTGATE_DATA_DIR: dataDir, CERTGATE_HTTP_PORT: String(httpPort), CERTGATE_HOST: '127.0.0.1', CERTGATE_PUBLIC_URL: base, CERTGATE_LOG_LEVEL: 'warn', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2', ...opts.env };
  if (httpsPort) env.CERTGATE_HTTPS_PORT = String(httpsPort);
  if (url) env.DATABASE_URL = url;
  else delete env.DATABASE_URL;
  const profDir = opts.profDirEnv ? process.env[opts.profDirEnv] : undefined;
  // CERTGATE_BENCH_NODE_FLAGS: node/V8 flags for the server under test (e.g. `--v8-pool-size=1`), to compare runtimes.
  const flags = process.env.CERTGATE_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const args = [...flags, ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), join(ROOT, 'bin/certgate.mjs'), 'serve', ...(httpsPort ? [] : ['--no-https'])];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const info = join(dataDir, 'server.json');
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`certgate exited: ${stderr.slice(-500)}`);
    if (existsSync(info)) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) {
          const token = (JSON.parse(readFileSync(info, 'utf8')) as { token: string }).token;
          return { child, base, httpsPort, token, root: readFileSync(join(dataDir, 'root.pem'), 'utf8') };
        }
      } catch {
        /* not yet */
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error('certgate did not start');
}

export async function stopCertgate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** `fn(i)` with `concurrency` in flight until `max` calls or `seconds` elapsed, whichever first. */
export async function timedLoad(max: number, seconds: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  const lat: number[] = [];
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < max && performance.now() < deadline) {
        const i = started++;
        const s = performance.now();
        await fn(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rate: lat.length / secs, p50: percentile(lat, 50), p99: percentile(lat, 99), n: lat.length };
}
